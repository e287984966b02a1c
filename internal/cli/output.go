package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// output is where a command writes and how: text for people (a progress
// bar on a terminal) or JSON for programs.
type output struct {
	stdout io.Writer
	stderr io.Writer
	// json prints machine-readable output only.
	json bool
	// tty draws a progress bar instead of plain lines, width columns wide
	// at most (0: no limit).
	tty   bool
	width int
	// uiURL and namespace make links to the Temporal UI; no uiURL, no
	// links.
	uiURL     string
	namespace string
}

// changeURL is the Temporal UI page of a change, or empty when no UI is
// configured.
func (o output) changeURL(changeID string) string {
	base := strings.TrimRight(o.uiURL, "/")
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", base, url.PathEscape(o.namespace), url.PathEscape(changeID))
}

// printLink prints the Temporal UI page of a change, for people.
func (o output) printLink(changeID string) {
	if u := o.changeURL(changeID); u != "" && !o.json {
		fmt.Fprintf(o.stdout, "Temporal UI: %s\n", u)
	}
}

// print writes v as JSON, or for people as text writes it.
func (o output) print(v any, text func(io.Writer)) error {
	if o.json {
		return writeJSON(o.stdout, v)
	}
	text(o.stdout)
	return nil
}
