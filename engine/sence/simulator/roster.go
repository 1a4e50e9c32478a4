package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// Roster is what the simulated Gestor Intermedio has registered: courses
// (oferta + grupo), their students and their module codes. A nil Roster
// means everything is registered.
type Roster struct {
	Courses []RosterCourse `json:"courses" yaml:"courses"`
}

// RosterCourse is one registered course. Students are RUTs ("12345678-5",
// any usual writing); Modules are SIC module codes. An empty list
// registers nothing.
type RosterCourse struct {
	CodigoOferta string   `json:"codigoOferta" yaml:"codigoOferta"`
	CodigoGrupo  string   `json:"codigoGrupo" yaml:"codigoGrupo"`
	Students     []string `json:"students" yaml:"students"`
	Modules      []string `json:"modules" yaml:"modules"`
}

// LoadRoster reads a roster from a JSON (.json) or YAML file. Unknown keys
// are errors, so a typo does not silently register nothing.
func LoadRoster(path string) (*Roster, error) {
	data, err := infile.Read(path, infile.RosterLimit)
	if err != nil {
		return nil, fmt.Errorf("no se pudo leer la nómina %s: %w", path, err)
	}
	var r Roster
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&r)
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nómina %s: %w", path, err)
	}
	if _, err := r.index(); err != nil {
		return nil, fmt.Errorf("nómina %s: %w", path, err)
	}
	return &r, nil
}

type courseKey struct{ oferta, grupo string }

type registeredCourse struct {
	students map[string]bool
	modules  map[string]bool
}

// registry is a Roster indexed for look-ups; nil means open mode.
type registry struct {
	courses  map[courseKey]*registeredCourse
	students map[string]bool // registered in any course
}

// index checks the roster and indexes it by canonical RUT.
func (r *Roster) index() (*registry, error) {
	if r == nil {
		return nil, nil
	}
	reg := &registry{courses: map[courseKey]*registeredCourse{}, students: map[string]bool{}}
	var problems []string
	for i, c := range r.Courses {
		where := fmt.Sprintf("curso %d (%s/%s)", i+1, c.CodigoOferta, c.CodigoGrupo)
		if strings.TrimSpace(c.CodigoOferta) == "" || strings.TrimSpace(c.CodigoGrupo) == "" {
			problems = append(problems, where+": faltan codigoOferta o codigoGrupo")
			continue
		}
		k := courseKey{c.CodigoOferta, c.CodigoGrupo}
		if reg.courses[k] != nil {
			problems = append(problems, where+": el curso está repetido")
			continue
		}
		rc := &registeredCourse{students: map[string]bool{}, modules: map[string]bool{}}
		for _, s := range c.Students {
			parsed, err := rut.Parse(s)
			if err != nil {
				problems = append(problems, where+": "+err.Error())
				continue
			}
			rc.students[parsed.String()] = true
			reg.students[parsed.String()] = true
		}
		for _, m := range c.Modules {
			if strings.TrimSpace(m) == "" {
				problems = append(problems, where+": hay un módulo vacío")
				continue
			}
			rc.modules[m] = true
		}
		reg.courses[k] = rc
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return reg, nil
}
