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
	// The fields of an organization entry are named "organizations[].name".
	Name string
	// Env is the environment variable that sets the key, for example
	// TRAILGATE_TEMPORAL_ADDRESS. It is empty for the fields of an
	// organization entry: TRAILGATE_ORGANIZATIONS sets the whole list.
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

// Keys lists every configuration key in the order of the Config struct.
func Keys() []Key {
	var keys []Key
	for _, f := range fields() {
		keys = append(keys, f.Key)
	}
	for _, f := range organizationFields() {
		keys = append(keys, Key{Name: organizationsKey + "[]." + f.Name})
	}
	return keys
}

const organizationsKey = "organizations"

// fields lists the keys of Config that viper resolves: scalars, string
// lists and the organizations list as a whole.
func fields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name := prefix + tagName(sf)
			idx := append(append([]int(nil), index...), i)
			switch {
			case sf.Type.Kind() == reflect.Struct:
				walk(sf.Type, name+".", idx)
			case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct:
				out = append(out, field{Key: Key{Name: name, Env: envName(name)}, index: idx, typ: sf.Type})
			default:
				out = append(out, field{Key: Key{Name: name, Env: envName(name), Flag: flagName(name)}, index: idx, typ: sf.Type})
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "", nil)
	return out
}

// organizationFields lists the keys of one organization entry.
func organizationFields() []field {
	t := reflect.TypeOf(Organization{})
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		out = append(out, field{Key: Key{Name: tagName(sf)}, index: []int{i}, typ: sf.Type})
	}
	return out
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
