package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// ensureSearchAttributes registers each of attrs that the namespace lacks.
// The namespace is created with them on the first start; this covers a
// database made by an earlier trailgate that knew fewer attributes.
func ensureSearchAttributes(ctx context.Context, addr, namespace string, attrs map[string]enumspb.IndexedValueType, logger *slog.Logger) error {
	if len(attrs) == 0 {
		return nil
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  addr,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	})
	if err != nil {
		return fmt.Errorf("connect to embedded Temporal server at %s: %w", addr, err)
	}
	defer c.Close()

	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	have := list.GetCustomAttributes()
	missing := map[string]enumspb.IndexedValueType{}
	var errs []error
	for _, name := range sortedNames(attrs) {
		want := attrs[name]
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			errs = append(errs, fmt.Errorf("search attribute %s of namespace %s is %s, trailgate needs %s", name, namespace, got, want))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("register search attributes %v in namespace %s: %w", sortedNames(missing), namespace, err)
	}
	return nil
}

func sortedNames(attrs map[string]enumspb.IndexedValueType) []string {
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
