package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// WriteFile writes c to path as YAML with the keys Load reads, so that the
// file can be loaded back. It replaces the file atomically (a temporary file
// in the same directory, then a rename), creating the directory if needed.
// The file may hold temporal.api_key, so it is readable by its owner only.
func WriteFile(path string, c Config) error {
	var buf bytes.Buffer
	buf.WriteString("# trailgate configuration; the keys are described in README.md.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode configuration for %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode configuration for %s: %w", path, err)
	}
	data := buf.Bytes()

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write configuration %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write configuration %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write configuration %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write configuration %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace configuration %s: %w", path, err)
	}
	return nil
}
