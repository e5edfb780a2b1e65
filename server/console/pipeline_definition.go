package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/pipelinespec"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// definitionData is a pipeline's definition page: one version's text in YAML or JSON (AWS's
// shape, with the pipeline: wrapper, so it moves to `slipway pipeline update --file` or AWS's
// CLI as it is), the other versions' links, and the edit and delete forms.
type definitionData struct {
	Name        string
	Version     int // the version shown
	Current     int // the pipeline's current version
	NextVersion int // the version an edit makes
	Format      string
	Text        string
	Versions    []int
	Warnings    []string
	Edit        definitionForm
	EditOpen    bool
	CanUpdate   bool
	CanDelete   bool
	DeleteError string
}

// pipelineDefinitionPage shows a version of the definition (?version=, the current one by
// default) as ?format=yaml (the default) or json.
func (m *Module) pipelineDefinitionPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderDefinition(w, r, id, http.StatusOK, nil, "")
}

func (m *Module) renderDefinition(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, edit *definitionForm, deleteError string) error {
	p, err := m.pipelineRecord(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := definitionData{Name: p.Name, Version: p.Version, Current: p.Version, NextVersion: p.Version + 1, Format: "yaml", DeleteError: deleteError, Warnings: p.Warnings}
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > p.Version {
			return fault.New(fault.Invalid, "version %q: the pipeline's versions are 1 to %d", v, p.Version)
		}
		d.Version = n
	}
	if f := q.Get("format"); f == "json" {
		d.Format = "json"
	} else if f != "" && f != "yaml" {
		return fault.New(fault.Invalid, "format %q: yaml or json", f)
	}
	spec, err := m.pipelines.Spec(r.Context(), p.Name, d.Version)
	if err != nil {
		return err
	}
	if d.Text, err = definitionText(spec, d.Format); err != nil {
		return err
	}
	for v := p.Version; v >= 1 && v > p.Version-50; v-- {
		d.Versions = append(d.Versions, v)
	}
	k, res := m.core.HTTP, "pipeline/"+p.Name
	d.CanUpdate, d.CanDelete = k.Allowed(r, id, "codepipeline:UpdatePipeline", res), k.Allowed(r, id, "codepipeline:DeletePipeline", res)
	if edit != nil {
		d.Edit, d.EditOpen = *edit, true
	} else if d.CanUpdate {
		cur := d.Text
		if d.Version != p.Version || d.Format != "yaml" {
			cs, err := m.pipelines.Spec(r.Context(), p.Name, 0)
			if err != nil {
				return err
			}
			if cur, err = definitionText(cs, "yaml"); err != nil {
				return err
			}
		}
		d.Edit.Definition = cur
	}
	return m.render(w, status, "pipeline_definition", frame(r, id.Token.User, "Definition of "+p.Name, d))
}

// pipelineUpdate stores the pasted definition as the pipeline's next version and goes to the
// pipeline's page; a definition with errors comes back in the form with its diagnostics.
func (m *Module) pipelineUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	spec, warnings, err := m.parseDefinition(w, r, id)
	var refused *definitionRefused
	if errors.As(err, &refused) {
		return m.renderDefinition(w, r, id, refused.status, &refused.form, "")
	}
	if err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	p, err := m.pipelines.Update(ctx, actorOf(id), r.PathValue("name"), spec, warnings)
	if refusal(err) && fault.CodeOf(err) != fault.NotFound { // a pipeline gone meanwhile is the page's 404
		f := definitionForm{Definition: crlfToLF(r.PostFormValue("definition"))}
		f.Error, f.Diagnostics = diagnosticsOf(err)
		return m.renderDefinition(w, r, id, statusOf(fault.CodeOf(err)), &f, "")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, pipelineURL(p.Name, ""), http.StatusSeeOther)
	return nil
}

// pipelineDelete deletes the pipeline and its executions' records and goes to the list; one
// with an execution in progress is refused on its definition page. The form asks for the
// pipeline's name, typed.
func (m *Module) pipelineDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxControlForm); err != nil {
		return err
	}
	name := r.PathValue("name")
	if formValue(r, "confirm") != name {
		return m.renderDefinition(w, r, id, http.StatusBadRequest, nil, "Type the pipeline's name, "+name+", to delete it.")
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	err = m.pipelines.Delete(ctx, actorOf(id), name)
	if fault.CodeOf(err) == fault.Conflict {
		return m.renderDefinition(w, r, id, http.StatusConflict, nil, errText(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/pipelines", http.StatusSeeOther)
	return nil
}

// definitionText renders a definition in AWS's shape under a pipeline: key, as indented JSON
// or as YAML with the keys in the same order.
func definitionText(spec *pipelinespec.Pipeline, format string) (string, error) {
	if spec == nil {
		return "", fault.New(fault.NotFound, "the definition is not available")
	}
	raw, err := json.Marshal(struct {
		Pipeline *pipelinespec.Pipeline `json:"pipeline"`
	}{spec})
	if err != nil {
		return "", err
	}
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return "", err
		}
		return buf.String() + "\n", nil
	}
	return jsonToYAML(raw)
}

// jsonToYAML re-writes a JSON document as YAML, keeping its keys' order (a map would sort
// them) and its strings as strings ("1" stays quoted).
func jsonToYAML(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := yamlNodeOf(dec)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// yamlNodeOf reads the next JSON value of dec as a YAML node.
func yamlNodeOf(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		kind := yaml.SequenceNode
		if t == '{' {
			kind = yaml.MappingNode
		} else if t != '[' {
			return nil, fmt.Errorf("unexpected %q", t)
		}
		n := &yaml.Node{Kind: kind}
		for dec.More() {
			if kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key})
			}
			v, err := yamlNodeOf(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if _, err := t.Int64(); err != nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}
