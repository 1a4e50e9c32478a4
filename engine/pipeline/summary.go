package pipeline

import (
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Summary is what a build left in and out, per course: export prints it
// and writes it as resumen.json; send prints it; run --strict decides by
// it. It is kept course by course as the courses are built.
type Summary struct {
	ReportDate string          `json:"fechaReporte"`
	Courses    []CourseSummary `json:"cursos"`
	Included   int             `json:"alumnosIncluidos"`
	Excluded   int             `json:"alumnosExcluidos"`
	Failed     int             `json:"cursosConError"`
	Sendable   int             `json:"cursosParaEnviar"`
	// Unselected are the Moodle courses the selection left out that look
	// like SENCE courses (or that the include rule left out with a reason).
	Unselected []assemble.UnselectedCourse `json:"cursosNoSeleccionados"`
}

// CourseSummary is one course of a Summary.
type CourseSummary struct {
	CodigoOferta string               `json:"codigoOferta"`
	CodigoGrupo  string               `json:"codigoGrupo"`
	Nombre       string               `json:"nombre"`
	Archivo      string               `json:"archivo,omitempty"`
	Incluidos    int                  `json:"alumnosIncluidos"`
	Excluidos    []assemble.Exclusion `json:"alumnosExcluidos"`
	Notas        []assemble.Note      `json:"notas,omitempty"`
	Error        string               `json:"error,omitempty"`
}

// NewSummary is the summary of a build for a report date (YYYY-MM-DD).
func NewSummary(reportDate string) *Summary {
	return &Summary{ReportDate: reportDate, Unselected: []assemble.UnselectedCourse{}}
}

// Add counts one built course.
func (s *Summary) Add(r *assemble.CourseResult) {
	cs := CourseSummary{CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Nombre: r.Label, Excluidos: r.Excluded, Notas: r.Notes}
	if cs.Excluidos == nil {
		cs.Excluidos = []assemble.Exclusion{}
	}
	if r.Err != nil {
		cs.Error = r.Err.Error()
		s.Failed++
	}
	if r.Payload != nil {
		cs.Incluidos = len(r.Payload.ListaAlumnos)
		cs.Archivo = FileName(r.Payload)
		s.Sendable++
	} else if r.Err == nil {
		cs.Error = "ningún alumno para informar: el curso no se envía"
	}
	s.Included += cs.Incluidos
	s.Excluded += len(r.Excluded)
	s.Courses = append(s.Courses, cs)
}

// Clean says whether no student was excluded and no course failed.
func (s *Summary) Clean() bool { return s.Excluded == 0 && s.Failed == 0 }

// FileName is the export file of a course.
func FileName(c *payload.Course) string {
	name := c.CodigoOferta
	if c.CodigoGrupo != "" && c.CodigoGrupo != c.CodigoOferta {
		name += "_" + c.CodigoGrupo
	}
	return safeName(name) + ".json"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < 32 {
			return '_'
		}
		return r
	}, s)
}
