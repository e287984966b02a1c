package config

import (
	"reflect"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable trailgate reads.
const EnvPrefix = "TRAILGATE_"

// ConfigFileEnv names the configuration file when --config is not given.
const ConfigFileEnv = EnvPrefix + "CONFIG"

// DefaultFile is the configuration file read from the working directory when
// neither --config nor TRAILGATE_CONFIG names one.
const DefaultFile = "trailgate.yaml"

// Key is one configuration key and the names it goes by.
type Key struct {
	// Name is the key as written in YAML, for example "temporal.address".
	// The keys of a list's entries are named after the list, for example
	// "organizations[].name" and "people[].principals".
	Name string
	// Env is the environment variable that sets the key, for example
	// TRAILGATE_TEMPORAL_ADDRESS. It is empty for the keys of a list's
	// entries: TRAILGATE_ORGANIZATIONS sets the whole list.
	Env string
	// Flag is the name of the command-line flag bound to the key when a
	// command registers one, for example "temporal-address"; empty when the
	// key cannot be a flag.
	Flag string
}

// field is a key together with where its value lives in Config.
type field struct {
	Key
	index []int
	typ   reflect.Type
}

var durationType = reflect.TypeOf(time.Duration(0))

// Keys lists every configuration key in the order of the Config struct; the
// keys of a list's entries follow the list.
func Keys() []Key {
	var keys []Key
	for _, f := range fields() {
		keys = append(keys, f.Key)
		for _, e := range f.entryFields() {
			keys = append(keys, Key{Name: f.Name + "[]." + e.Name})
		}
	}
	return keys
}

// fields lists the keys of Config that viper resolves: scalars, string
// lists and lists of entries (organizations, people) as a whole.
func fields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name := prefix + tagName(sf)
			idx := append(append([]int(nil), index...), i)
			f := field{Key: Key{Name: name, Env: envName(name)}, index: idx, typ: sf.Type}
			if sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, name+".", idx)
				continue
			}
			if !f.isList() {
				f.Flag = flagName(name) // a list of entries cannot be a flag
			}
			out = append(out, f)
		}
	}
	walk(reflect.TypeOf(Config{}), "", nil)
	return out
}

// isList says whether the key holds a list of entries, each a mapping with
// keys of its own, as organizations and people do.
func (f field) isList() bool {
	return f.typ.Kind() == reflect.Slice && f.typ.Elem().Kind() == reflect.Struct
}

// entryFields lists the keys of one entry of a list, where index is within
// the entry; nil for a key that is not a list.
func (f field) entryFields() []field {
	if !f.isList() {
		return nil
	}
	t := f.typ.Elem()
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		out = append(out, field{Key: Key{Name: tagName(sf)}, index: []int{i}, typ: sf.Type})
	}
	return out
}

// entryNames lists the names of the keys of one entry of a list.
func (f field) entryNames() []string {
	var names []string
	for _, e := range f.entryFields() {
		names = append(names, e.Name)
	}
	return names
}

// entryShape says, for messages, what every entry of a list must have and
// how the list is written inline, as in its environment variable.
type entryShape struct {
	needs, example string
}

// entryShapes holds the shape of every list of entries in Config, by key.
var entryShapes = map[string]entryShape{
	"organizations": {
		needs:   "name and management_account_id",
		example: `[{name: prod, management_account_id: "123456789012"}]`,
	},
	"people": {
		needs:   "name and principals",
		example: `[{name: alice, principals: ["arn:aws:iam::111122223333:user/alice"]}]`,
	},
}

// entryShapeOf is the shape of the lists whose entries are of type entry.
func entryShapeOf(entry reflect.Type) (entryShape, bool) {
	for _, f := range fields() {
		if f.isList() && f.typ.Elem() == entry {
			shape, ok := entryShapes[f.Name]
			return shape, ok
		}
	}
	return entryShape{}, false
}

// sections lists the keys that hold other keys: "temporal", "temporal.tls", …
func sections() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.Type.Kind() == reflect.Struct {
				out[prefix+tagName(sf)] = true
				walk(sf.Type, prefix+tagName(sf)+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}

func tagName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("mapstructure"), ",")
	if name == "" {
		return strings.ToLower(sf.Name)
	}
	return name
}

// envName is TRAILGATE_ and the key upper-cased with dots as underscores.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagName is the key with dots and underscores as dashes.
func flagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}
