// Package payload defines the JSON body of SENCE's enviarAvance call: one
// course with its students, their modules and activities. Field names and
// order follow SENCE's newest edition exactly; the optional fields of that
// edition are pointers so a mapping that does not produce them omits them.
package payload

import (
	"bytes"
	"encoding/json"
)

// IDSistema is the fixed system id SENCE assigns to LMS integrations.
const IDSistema = 1350

// Course is one enviarAvance request body.
type Course struct {
	RutOtec                  string   `json:"rutOtec"`
	IDSistema                int      `json:"idSistema"`
	Token                    string   `json:"token"`
	CodigoOferta             string   `json:"codigoOferta"`
	CodigoGrupo              string   `json:"codigoGrupo"`
	CodigoEnvio              string   `json:"codigoEnvio,omitempty"`
	CantActividadSincronica  *int     `json:"cantActividadSincronica,omitempty"`
	CantActividadAsincronica *int     `json:"cantActividadAsincronica,omitempty"`
	ListaAlumnos             []Alumno `json:"listaAlumnos"`
}

// Alumno is one student of a course.
type Alumno struct {
	RutAlumno          int64    `json:"rutAlumno"`
	DvAlumno           string   `json:"dvAlumno"`
	TiempoConectividad int64    `json:"tiempoConectividad"`
	Estado             int      `json:"estado"`
	PorcentajeAvance   int      `json:"porcentajeAvance"`
	FechaInicio        string   `json:"fechaInicio"`
	FechaFin           string   `json:"fechaFin"`
	FechaEjecucion     string   `json:"fechaEjecucion"`
	EvaluacionFinal    *float64 `json:"evaluacionFinal,omitempty"`
	ListaModulos       []Modulo `json:"listaModulos"`
}

// Modulo is one module of a student.
type Modulo struct {
	CodigoModulo             string      `json:"codigoModulo"`
	TiempoConectividad       int64       `json:"tiempoConectividad"`
	Estado                   int         `json:"estado"`
	PorcentajeAvance         int         `json:"porcentajeAvance"`
	FechaInicio              string      `json:"fechaInicio"`
	FechaFin                 string      `json:"fechaFin"`
	NotaModulo               *float64    `json:"notaModulo,omitempty"`
	CantActividadSincronica  *int        `json:"cantActividadSincronica,omitempty"`
	CantActividadAsincronica *int        `json:"cantActividadAsincronica,omitempty"`
	ListaActividades         []Actividad `json:"listaActividades"`
}

// Actividad is one activity of a module.
type Actividad struct {
	CodigoActividad string `json:"codigoActividad"`
}

// Estado values shared by students and modules.
const (
	EstadoCursando  = 1
	EstadoAprobado  = 2
	EstadoReprobado = 3
)

// Marshal encodes a course as indented JSON, without escaping <, > and &
// (so the token placeholder reads as written), with a final newline.
func Marshal(c *Course) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RedactedToken replaces the token in exports unless the user asks for it.
const RedactedToken = "<TOKEN>"

// Section is a send's codigoGrupo when it names a section other than the
// course itself, "" when it is empty or equal to codigoOferta (a course
// sent whole). Two sends go to the same SENCE course and section when
// their codigoOferta and Section are equal.
func Section(codigoOferta, codigoGrupo string) string {
	if codigoGrupo == codigoOferta {
		return ""
	}
	return codigoGrupo
}
