package cli

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestReadmeDocumentsEveryCommand keeps the README's CLI reference in step
// with the commands: every command and every flag of it is named there.
func TestReadmeDocumentsEveryCommand(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(data), "### CLI reference")
	if start < 0 {
		t.Fatal("README.md has no CLI reference section")
	}
	ref := string(data[start:])
	root, _ := NewRootCommand(io.Discard, io.Discard)
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		if !strings.Contains(ref, "`"+cmd.Name()) && !strings.Contains(ref, ", "+cmd.Name()+"`") {
			t.Errorf("the CLI reference does not name the command %s", cmd.Name())
		}
		cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(ref, "--"+f.Name) {
				t.Errorf("the CLI reference does not name %s --%s", cmd.Name(), f.Name)
			}
		})
	}
}
