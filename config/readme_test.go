package config_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/trailgate/trailgate/config"
)

// readmeTable returns the rows of the markdown table that follows the line
// ending in heading in README.md, each as its cells with backticks removed.
func readmeTable(t *testing.T, heading string, columns int) [][]string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != columns {
			t.Fatalf("README.md: row %q has %d cells, want %d", line, len(cells), columns)
		}
		for i := range cells {
			cells[i] = strings.ReplaceAll(strings.TrimSpace(cells[i]), "`", "")
		}
		if strings.HasPrefix(cells[0], "---") || cells[0] == "key" || cells[0] == "flag" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

// defaultText is how README writes a key's default: "—" for nothing,
// durations in their shortest form, booleans as true or false.
func defaultText(t *testing.T, key string) string {
	t.Helper()
	v := reflect.ValueOf(config.Default())
	for _, part := range strings.Split(key, ".") {
		found := false
		for i := 0; i < v.NumField(); i++ {
			if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("mapstructure"), ","); tag == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			t.Fatalf("key %s: no field %q in Config", key, part)
		}
	}
	if v.Kind() != reflect.Bool && (v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0)) {
		return "—"
	}
	if d, ok := v.Interface().(time.Duration); ok {
		s := d.String()
		s = strings.TrimSuffix(s, "0s")
		s = strings.TrimSuffix(s, "0m")
		return s
	}
	return fmt.Sprint(v.Interface())
}

// The configuration reference cannot drift from Config: every key has a row
// with its environment variable and default, and every row is a key.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	rows := map[string][]string{}
	for _, r := range readmeTable(t, "### Keys", 4) {
		if _, dup := rows[r[0]]; dup {
			t.Errorf("README.md documents %s twice", r[0])
		}
		rows[r[0]] = r
	}
	keys := map[string]bool{}
	for _, k := range config.Keys() {
		keys[k.Name] = true
		r, ok := rows[k.Name]
		if !ok {
			t.Errorf("README.md's configuration table has no row for %s", k.Name)
			continue
		}
		wantEnv := k.Env
		if wantEnv == "" {
			wantEnv = "—"
		}
		if r[1] != wantEnv {
			t.Errorf("README.md: %s: environment variable %q, want %q", k.Name, r[1], wantEnv)
		}
		if strings.Contains(k.Name, "[]") {
			continue // an entry's key has no default
		}
		if want := defaultText(t, k.Name); r[2] != want {
			t.Errorf("README.md: %s: default %q, want %q", k.Name, r[2], want)
		}
		if r[3] == "" {
			t.Errorf("README.md: %s: no meaning given", k.Name)
		}
	}
	for name := range rows {
		if !keys[name] {
			t.Errorf("README.md documents %s, which is not a configuration key", name)
		}
	}
}

func TestReadmeDocumentsEveryFlag(t *testing.T) {
	rows := map[string]string{}
	for _, r := range readmeTable(t, "take these flags:", 2) {
		rows[r[0]] = r[1]
	}
	keyOfFlag := map[string]string{}
	for _, k := range config.Keys() {
		if k.Flag != "" {
			keyOfFlag[k.Flag] = k.Name
		}
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		doc, ok := rows["--"+f.Name]
		if !ok {
			t.Errorf("README.md's flag table has no row for --%s", f.Name)
			return
		}
		if key := keyOfFlag[f.Name]; key != "" && doc != key {
			t.Errorf("README.md: --%s sets %q, want %q", f.Name, doc, key)
		}
	})
	if len(rows) != countFlags(fs) {
		t.Errorf("README.md documents %d flags, RegisterFlags adds %d", len(rows), countFlags(fs))
	}
}

func countFlags(fs *pflag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*pflag.Flag) { n++ })
	return n
}

// The small file in README.md is one a worker starts with.
func TestReadmeSmallFileLoads(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "A small file:\n\n```yaml\n")
	if !ok {
		t.Fatal("README.md has no small file (\"A small file:\" and a yaml block)")
	}
	file, _, _ := strings.Cut(rest, "```")
	dir := isolate(t)
	writeFile(t, dir, "trailgate.yaml", file)
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatalf("README.md's small file: %v", err)
	}
	if err := c.ValidateWorker(); err != nil {
		t.Errorf("README.md's small file, for the worker: %v", err)
	}
	if len(c.Organizations) == 0 || len(c.People) == 0 || len(c.Approvals.Approvers) == 0 {
		t.Errorf("README.md's small file shows %d organizations, %d people and %d approvers; want some of each", len(c.Organizations), len(c.People), len(c.Approvals.Approvers))
	}
}
