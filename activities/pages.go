package activities

import "context"

// eachPage hands each page that next returns, while more says there is
// one, to read; the first error ends the pages. more and next are an AWS
// SDK paginator's HasMorePages and NextPage.
func eachPage[Page, Option any](ctx context.Context, more func() bool, next func(context.Context, ...Option) (Page, error), read func(Page)) error {
	for more() {
		page, err := next(ctx)
		if err != nil {
			return err
		}
		read(page)
	}
	return nil
}

// collectPages follows every page, as eachPage does, and collects what read
// takes from each; never nil without an error.
func collectPages[Page, Option, T any](ctx context.Context, more func() bool, next func(context.Context, ...Option) (Page, error), read func(Page) []T) ([]T, error) {
	all := []T{}
	if err := eachPage(ctx, more, next, func(page Page) { all = append(all, read(page)...) }); err != nil {
		return nil, err
	}
	return all, nil
}

// mapped is f of each element of xs, in order; never nil.
func mapped[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
