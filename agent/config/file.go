package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ReadFile decodes the YAML file at path strictly: an unknown key, a value of the wrong type or
// a syntax error is an error naming the file and line. Only the keys present in the file are
// set in the result; an empty file is an empty Config. Errors wrap ErrInvalid.
func ReadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %s:%w", ErrInvalid, path, err)
	}
	return c, nil
}

// Parse decodes one YAML document as ReadFile does. Its errors start with the line they are on
// ("3: unknown key ...") and do not wrap ErrInvalid; ReadFile adds the file name.
func Parse(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	if errors.Is(err, io.EOF) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, yamlError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, errors.New(" the file holds more than one YAML document")
	}
	return c, nil
}

var (
	// "line 3: field foo not found in type config.Config"
	unknownKeyRE = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	// "line 3: cannot unmarshal ..." and "yaml: line 3: did not find expected key"
	lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// yamlError rewrites the decoder's messages into "LINE: message" parts joined by "; ".
func yamlError(err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		m = strings.ReplaceAll(m, "\n", `\n`) // a quoted value may span lines; the error may not
		m = strings.ReplaceAll(m, "into config.Config", "into the agent's configuration (a mapping of keys)")
		switch mm := unknownKeyRE.FindStringSubmatch(m); {
		case mm != nil:
			out = append(out, fmt.Sprintf("%s: unknown key %q (known keys: %s)", mm[1], mm[2], knownKeys()))
		default:
			if ml := lineRE.FindStringSubmatch(m); ml != nil {
				out = append(out, fmt.Sprintf("%s: %s", ml[1], ml[2]))
			} else {
				out = append(out, " "+strings.TrimPrefix(m, "yaml: "))
			}
		}
	}
	return errors.New(strings.Join(out, "; "))
}

func knownKeys() string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.Key
	}
	return strings.Join(keys, ", ")
}

// Marshal renders c as an agent.yaml, with a header comment, leaving out unset fields.
func Marshal(c Config) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# slipway-agent configuration. Keys and their flags and environment variables:\n" +
		"# see `slipway-agent run --help`. This file may hold the registration token: keep it 0600.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return buf.Bytes(), nil
}
