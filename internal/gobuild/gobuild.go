// Package gobuild builds programs of the trailgate module, and the tools its
// go.mod pins, as make build does: for tests and benchmarks that run them as
// their own processes.
package gobuild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// ModuleRoot is the directory of the trailgate module that holds the
// working directory.
func ModuleRoot() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("find the trailgate module: run from inside it")
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

// Build builds each package of pkgs (output path → package path: "./worker",
// or a tool of go.mod's tool directive such as
// "go.temporal.io/server/cmd/server") at the versions go.mod pins.
func Build(pkgs map[string]string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	for out, pkg := range pkgs {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = root
		if msg, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", pkg, err, msg)
		}
	}
	return nil
}

// Version is the version go.mod requires of module, such as "v1.32.1".
func Version(module string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("go.mod does not require %s", module)
	}
	return string(m[1]), nil
}
