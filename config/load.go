package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// LoadOptions says where Load finds configuration besides the environment.
type LoadOptions struct {
	// Flags are the parsed command-line flags. A flag whose name is a key's
	// flag name (RegisterFlags adds the common ones) overrides the key when
	// it was given; --config names the configuration file. Nil means no flags.
	Flags *pflag.FlagSet
	// WorkDir is where trailgate.yaml is looked for when neither --config
	// nor TRAILGATE_CONFIG names a file. Empty means the working directory.
	WorkDir string
}

// RegisterFlags adds --config and the common overrides to fs, so that the
// worker and the CLI accept the same configuration flags. Load binds them.
func RegisterFlags(fs *pflag.FlagSet) {
	d := Default()
	fs.String("config", "", "configuration file (YAML); else $"+ConfigFileEnv+", else ./"+DefaultFile+" when present")
	fs.String("temporal-address", d.Temporal.Address, "Temporal frontend host:port")
	fs.String("temporal-namespace", d.Temporal.Namespace, "Temporal namespace")
	fs.String("temporal-task-queue", d.Temporal.TaskQueue, "Temporal task queue of the trailgate worker")
	fs.String("log-level", d.Log.Level, "log level: debug, info, warn or error")
	fs.String("log-format", d.Log.Format, "log format: text or json")
	fs.String("aws-region", d.AWS.Region, "AWS region for CloudTrail, IAM and S3 (Organizations always uses us-east-1)")
	fs.String("aws-endpoint-url", d.AWS.EndpointURL, "AWS endpoint override for every service, such as the AWS sandbox")
}

// Load reads the configuration: defaults, then the YAML file (--config, else
// TRAILGATE_CONFIG, else ./trailgate.yaml when present), then TRAILGATE_*
// environment variables, then flags, each overriding the one before. It
// validates the result. Every problem found on the way, from unknown keys to
// invalid values, is reported at once in a *ValidationError, and the
// configuration is then not to be used.
func Load(opts LoadOptions) (Config, error) {
	v := viper.New()
	var problems []string

	path, explicit := configFile(opts)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			problems = append(problems, checkFile(path, data, v)...)
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			// ./trailgate.yaml vanished between the look and the read: no file.
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, fmt.Sprintf("%s: no such file; give the path of an existing configuration file", path))
		default:
			problems = append(problems, fmt.Sprintf("%s: cannot be read (%v); check the path and its permissions", path, err))
		}
	}

	flags := map[string]*pflag.Flag{}
	for _, f := range fields() {
		// BindEnv fails only without a key; the keys come from the struct.
		_ = v.BindEnv(f.Name, f.Env)
		if opts.Flags != nil && f.Flag != "" {
			if fl := opts.Flags.Lookup(f.Flag); fl != nil {
				_ = v.BindPFlag(f.Name, fl)
				flags[f.Name] = fl
			}
		}
	}

	settings := map[string]any{}
	for _, f := range fields() {
		if !v.IsSet(f.Name) {
			continue
		}
		raw := v.Get(f.Name)
		if s, ok := raw.(string); ok && f.isList() {
			var ps []string
			raw, ps = parseList(sourceOf(f, path, flags), f, s)
			problems = append(problems, ps...)
		}
		setSetting(settings, f.Name, raw)
	}
	c := Default()
	problems = append(problems, decode(settings, &c, func(key string) string {
		return sourceOf(fieldNamed(key), path, flags)
	})...)

	if err := c.Validate(); err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			problems = append(problems, verr.Problems...)
		} else {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return c, &ValidationError{Problems: problems}
	}
	return c, nil
}

// configFile says which file to read and whether the user named it.
func configFile(opts LoadOptions) (path string, explicit bool) {
	if opts.Flags != nil {
		if f := opts.Flags.Lookup("config"); f != nil && f.Value.String() != "" {
			return f.Value.String(), true
		}
	}
	if p := os.Getenv(ConfigFileEnv); p != "" {
		return p, true
	}
	p := DefaultFile
	if opts.WorkDir != "" {
		p = filepath.Join(opts.WorkDir, DefaultFile)
	}
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, false
	}
	return "", false
}

// sourceOf names where a key's value came from, in viper's order.
func sourceOf(f field, path string, flags map[string]*pflag.Flag) string {
	if fl, ok := flags[f.Name]; ok && fl.Changed {
		return "--" + fl.Name
	}
	if os.Getenv(f.Env) != "" {
		return f.Env
	}
	return path
}

// checkFile parses a configuration file, reports its unknown keys and, when
// it parses, hands it to viper.
func checkFile(path string, data []byte, v *viper.Viper) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{fmt.Sprintf("%s: not valid YAML (%v); fix the syntax", path, err)}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file says nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []string{fmt.Sprintf("%s:%d: the file must be a mapping of keys such as temporal: and organizations:", path, root.Line)}
	}
	problems := unknownKeys(path, root, "")
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		problems = append(problems, fmt.Sprintf("%s: cannot be read as configuration (%v)", path, err))
	}
	return problems
}

// unknownKeys walks a mapping of the file and names every key that Config
// does not have.
func unknownKeys(source string, m *yaml.Node, prefix string) []string {
	var problems []string
	secs := sections()
	leaves := map[string]bool{}
	lists := map[string]field{}
	for _, f := range fields() {
		leaves[f.Name] = true
		if f.isList() {
			lists[f.Name] = f
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		name := prefix + k.Value
		list, isList := lists[name]
		switch {
		case isList:
			if val.Kind == yaml.SequenceNode {
				problems = append(problems, unknownEntryKeys(source, list, val)...)
			}
		case secs[name]:
			switch val.Kind {
			case yaml.MappingNode:
				problems = append(problems, unknownKeys(source, val, name+".")...)
			case yaml.ScalarNode:
				if val.Tag == "!!null" {
					continue
				}
				fallthrough
			default:
				problems = append(problems, fmt.Sprintf("%s:%d: %q must hold keys (for example %s); it holds a single value", source, k.Line, name, firstKeyUnder(name)))
			}
		case leaves[name]:
		default:
			problems = append(problems, unknownKeyProblem(source, k.Line, name, allNames()))
		}
	}
	return problems
}

// unknownEntryKeys names unknown keys in the entries of a list such as
// organizations.
func unknownEntryKeys(source string, list field, seq *yaml.Node) []string {
	names := list.entryNames()
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	var problems []string
	for i, entry := range seq.Content {
		if entry.Kind != yaml.MappingNode {
			continue // decodeList says what an entry must be
		}
		for j := 0; j+1 < len(entry.Content); j += 2 {
			k := entry.Content[j]
			if !known[k.Value] {
				var p string
				if s := closest(k.Value, names); s != "" {
					p = fmt.Sprintf("%s:%d: unknown key %q in %s[%d] (did you mean %q?); remove it or fix its spelling", source, k.Line, k.Value, list.Name, i, s)
				} else {
					p = fmt.Sprintf("%s:%d: unknown key %q in %s[%d]; an entry has %s", source, k.Line, k.Value, list.Name, i, strings.Join(names, ", "))
				}
				problems = append(problems, p)
			}
		}
	}
	return problems
}

func unknownKeyProblem(source string, line int, name string, candidates []string) string {
	loc := source
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", source, line)
	}
	if s := closest(name, candidates); s != "" {
		return fmt.Sprintf("%s: unknown key %q (did you mean %q?); remove it or fix its spelling", loc, name, s)
	}
	return fmt.Sprintf("%s: unknown key %q; remove it (the keys are listed in README.md)", loc, name)
}

func allNames() []string {
	var names []string
	for _, f := range fields() {
		names = append(names, f.Name)
	}
	for s := range sections() {
		names = append(names, s)
	}
	sort.Strings(names)
	return names
}

func firstKeyUnder(section string) string {
	for _, f := range fields() {
		if strings.HasPrefix(f.Name, section+".") {
			return strings.TrimPrefix(f.Name, section+".")
		}
	}
	return "a key"
}

// closest returns the candidate nearest to name when it is close enough to
// be a likely misspelling.
func closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parseList reads a list of entries, such as organizations, from its
// environment variable, such as TRAILGATE_ORGANIZATIONS, where it is written
// as YAML or JSON, and names the unknown keys of its entries.
func parseList(source string, list field, s string) (any, []string) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, []string{fmt.Sprintf("%s: not valid YAML or JSON (%v); give a list such as %s", source, err, entryShapes[list.Name].example)}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var problems []string
	if doc.Content[0].Kind == yaml.SequenceNode {
		problems = unknownEntryKeys(source, list, doc.Content[0])
	}
	var raw any
	if err := doc.Content[0].Decode(&raw); err != nil {
		return nil, append(problems, fmt.Sprintf("%s: %v", source, err))
	}
	return raw, problems
}

// setSetting puts a value at a dotted key of a nested map, as the decoder
// reads it.
func setSetting(settings map[string]any, key string, val any) {
	section, rest, nested := strings.Cut(key, ".")
	if !nested {
		settings[key] = val
		return
	}
	m, ok := settings[section].(map[string]any)
	if !ok {
		m = map[string]any{}
		settings[section] = m
	}
	setSetting(m, rest, val)
}

// fieldNamed is the field of a key, or of the list a key such as
// people[1].principals belongs to.
func fieldNamed(key string) field {
	key, _, _ = strings.Cut(key, "[")
	for _, f := range fields() {
		if f.Name == key {
			return f
		}
	}
	return field{}
}

// notAMapping is the problem of an entry of a list that is not a mapping;
// the entry is then left out, as if it were not written.
type notAMapping struct{ needs string }

func (e notAMapping) Error() string { return "must be a mapping with " + e.needs }

// decode decodes settings over c with mapstructure, exactly: every key of
// settings must land in a field. Its problems say where each bad value came
// from (sourceOf a key) and what is wrong with it.
func decode(settings map[string]any, c *Config, sourceOf func(key string) string) []string {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.DecodeHookFuncValue(convert),
		DecodeNil:   true, // so that an entry written as ~ is not a mapping
		ErrorUnused: true,
		Result:      c,
	})
	if err != nil {
		return []string{err.Error()} // only for a Result that is no pointer
	}
	var problems []string
	dropped := map[string][]int{}
	for _, e := range decodeErrors(dec.Decode(settings)) {
		if strings.HasPrefix(e.Unwrap().Error(), "has invalid keys") {
			// unknownKeys and unknownEntryKeys named these keys with their lines.
			continue
		}
		if errors.As(e, new(notAMapping)) {
			list, i := listIndex(e.Name())
			dropped[list] = append(dropped[list], i)
		}
		problems = append(problems, fmt.Sprintf("%s: %s %v", sourceOf(e.Name()), e.Name(), e.Unwrap()))
	}
	for list, indexes := range dropped {
		entries := reflect.ValueOf(c).Elem().FieldByIndex(fieldNamed(list).index)
		for j := len(indexes) - 1; j >= 0; j-- {
			i := indexes[j]
			entries.Set(reflect.AppendSlice(entries.Slice(0, i), entries.Slice(i+1, entries.Len())))
		}
		if entries.Len() == 0 {
			entries.SetZero() // nil when empty, as in Default
		}
	}
	return problems
}

// decodeErrors flattens the errors of a decoding, in the order of Config's
// fields.
func decodeErrors(err error) []*mapstructure.DecodeError {
	switch e := err.(type) {
	case nil:
		return nil
	case *mapstructure.DecodeError:
		return []*mapstructure.DecodeError{e}
	case interface{ Unwrap() []error }:
		var out []*mapstructure.DecodeError
		for _, inner := range e.Unwrap() {
			out = append(out, decodeErrors(inner)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		return decodeErrors(inner)
	}
	return nil
}

// listIndex splits a name such as people[1] into people and 1.
func listIndex(name string) (string, int) {
	list, rest, _ := strings.Cut(name, "[")
	i, _ := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	return list, i
}

// convert is the decode hook: it converts a value from YAML, the
// environment or a flag to the type of the field it lands in, and leaves
// sections and entries to the decoder. Its error completes a sentence that
// starts with the key.
func convert(from, to reflect.Value) (any, error) {
	t := to.Type()
	raw := from.Interface()
	switch {
	case t == durationType:
		return toDuration(raw)
	case t.Kind() == reflect.String:
		return toString(raw)
	case t.Kind() == reflect.Int:
		return toInt(raw)
	case t.Kind() == reflect.Bool:
		return toBool(raw)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return toStrings(raw)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return toEntries(t.Elem(), raw)
	case t.Kind() == reflect.Struct:
		if m, ok := raw.(map[string]any); !ok || m == nil {
			if shape, isEntry := entryShapeOf(t); isEntry {
				return nil, notAMapping{shape.needs}
			}
		}
	}
	return raw, nil
}

// toEntries checks that a list of entries, such as organizations, is a
// list; nil when it is empty, as in Default.
func toEntries(entry reflect.Type, raw any) (any, error) {
	items, ok := raw.([]any)
	if !ok {
		shape, _ := entryShapeOf(entry)
		return nil, errors.New("must be a list of entries, each with " + shape.needs)
	}
	if len(items) == 0 {
		return nil, nil
	}
	return items, nil
}

func toString(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("must be a single value, not %s", describe(raw))
}

func toInt(raw any) (int, error) {
	switch x := raw.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x <= math.MaxInt32 {
			return int(x), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32 {
			return int(x), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("is %s, not a whole number; write it in digits, such as 2", describe(raw))
}

func toBool(raw any) (bool, error) {
	switch x := raw.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("is %s, not true or false", describe(raw))
}

func toDuration(raw any) (time.Duration, error) {
	switch x := raw.(type) {
	case time.Duration:
		return x, nil
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return d, nil
		}
	case int, int64, uint64, float64:
		return 0, fmt.Errorf("is the bare number %v; write a duration with its unit, such as \"168h\" or \"30m\"", raw)
	}
	return 0, fmt.Errorf("is %s, not a duration; write it with its unit, such as \"168h\" or \"30m\"", describe(raw))
}

func toStrings(raw any) ([]string, error) {
	var out []string
	switch x := raw.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		for _, s := range x {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, item := range x {
			s, err := toString(item)
			if err != nil {
				return nil, fmt.Errorf("must be a list of names: %w", err)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, fmt.Errorf("is %s; write a list, or names separated by commas", describe(raw))
	}
	return out, nil
}

func describe(raw any) string {
	switch x := raw.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%v", x)
	}
}
