package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// Summary is what a build left in and out, per course: export prints it
// and writes it as resumen.json; send prints it; run --strict decides by
// it. It is kept course by course as the courses are built.
type Summary struct {
	// Schema and Version name the format (schemas/resumen.schema.json);
	// a resumen.json without them was written by an earlier version.
	Schema     string          `json:"$schema"`
	Version    int             `json:"version"`
	ReportDate string          `json:"fechaReporte"`
	Courses    []CourseSummary `json:"cursos"`
	Included   int             `json:"alumnosIncluidos"`
	Excluded   int             `json:"alumnosExcluidos"`
	Failed     int             `json:"cursosConError"`
	Sendable   int             `json:"cursosParaEnviar"`
	// Unselected are the Moodle courses the selection left out that look
	// like SENCE courses (or that the include rule left out with a reason).
	Unselected []assemble.UnselectedCourse `json:"cursosNoSeleccionados"`

	// spill, when set (export --out), takes each course's Enviados as
	// the course is added (sentRefs, one per course): memory keeps the
	// counts and WriteJSON reads the students back course by course.
	spill    *spill.File
	sentRefs []spill.Ref
	spillErr error
	// dropSent keeps no Enviados (nothing writes resumen.json).
	dropSent bool
}

// CourseSummary is one course of a Summary.
type CourseSummary struct {
	CodigoOferta string           `json:"codigoOferta"`
	CodigoGrupo  string           `json:"codigoGrupo"`
	Nombre       string           `json:"nombre"`
	Archivo      string           `json:"archivo,omitempty"`
	Incluidos    int              `json:"alumnosIncluidos"`
	Excluidos    []StudentSummary `json:"alumnosExcluidos"`
	// Enviados are the students of the course's file, with the values
	// it tells SENCE.
	Enviados []StudentSummary `json:"alumnosEnviados"`
	Notas    []assemble.Note  `json:"notas,omitempty"`
	Error    string           `json:"error,omitempty"`
}

// StudentSummary is a student of a CourseSummary: who (Alumno names them
// as every output does), and why excluded or the values sent.
type StudentSummary struct {
	Alumno      string           `json:"alumno"`
	Nombre      string           `json:"nombre,omitempty"`
	RUT         string           `json:"rut,omitempty"`
	RUTInvalido string           `json:"rutInvalido,omitempty"`
	IDMoodle    string           `json:"idMoodle,omitempty"`
	Motivos     []string         `json:"motivos,omitempty"`
	Enviado     *assemble.Values `json:"enviado,omitempty"`
}

// studentOf is the summary of a student.
func studentOf(x assemble.Exclusion) StudentSummary {
	return StudentSummary{Alumno: x.Who(), Nombre: x.Label, RUT: x.RUT, RUTInvalido: x.RUTText, IDMoodle: x.UserID, Motivos: x.Reasons}
}

// Who names the student as every output does.
func (s StudentSummary) Who() string { return s.Alumno }

// SummaryVersion is the version of resumen.json's format, and
// SummarySchemaID its JSON Schema (schemas/resumen.schema.json).
const (
	SummaryVersion  = 1
	SummarySchemaID = "https://github.com/otec-tools/sence-engine/schemas/resumen.schema.json"
)

// NewSummary is the summary of a build for a report date (YYYY-MM-DD).
func NewSummary(reportDate string) *Summary {
	return &Summary{Schema: SummarySchemaID, Version: SummaryVersion, ReportDate: reportDate, Unselected: []assemble.UnselectedCourse{}}
}

// Add counts one built course.
func (s *Summary) Add(r *assemble.CourseResult) {
	cs := CourseSummary{CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Nombre: r.Label, Notas: r.Notes,
		Excluidos: []StudentSummary{}, Enviados: []StudentSummary{}}
	for _, x := range r.Excluded {
		cs.Excluidos = append(cs.Excluidos, studentOf(x))
	}
	if r.Payload != nil {
		for i, al := range r.Payload.ListaAlumnos {
			var st StudentSummary
			if i < len(r.Sent) {
				st = studentOf(r.Sent[i])
			} else {
				st = studentOf(assemble.Exclusion{RUT: fmt.Sprintf("%d-%s", al.RutAlumno, al.DvAlumno)})
			}
			st.Enviado = assemble.ValuesOf(al)
			cs.Enviados = append(cs.Enviados, st)
		}
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
	if s.dropSent {
		cs.Enviados = nil
	} else if s.spill != nil {
		ref, err := s.spill.Put(cs.Enviados)
		if err != nil && s.spillErr == nil {
			s.spillErr = err
		}
		s.sentRefs = append(s.sentRefs, ref)
		cs.Enviados = nil
	}
	s.Courses = append(s.Courses, cs)
}

// Course is course k with its students sent, read back from the spill
// when they were spilled.
func (s *Summary) Course(k int) (CourseSummary, error) {
	c := s.Courses[k]
	if s.spill == nil {
		return c, nil
	}
	if s.spillErr != nil {
		return c, s.spillErr
	}
	err := s.spill.Get(s.sentRefs[k], &c.Enviados)
	return c, err
}

// WriteJSON writes the summary as json.MarshalIndent(s, "", "  ") writes
// it, with a final newline, one course at a time: the students of a large
// site are never all in memory.
func (s *Summary) WriteJSON(w io.Writer) error {
	head := *s
	head.Courses = []CourseSummary{}
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	if len(s.Courses) == 0 {
		b, err = json.MarshalIndent(s, "", "  ") // "cursos": null, as before
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return outfile.WriteJSONList(w, b, "cursos", len(s.Courses), func(k int) (any, error) { return s.Course(k) })
}

// Clean says whether no student was excluded and no course failed.
func (s *Summary) Clean() bool { return s.Excluded == 0 && s.Failed == 0 }

// FileName is the export file of a course: its codigoOferta, and "_" +
// codigoGrupo when that differs. Different courses never share a name
// (an export used to fail with "file exists" when two did): a character
// a file name cannot hold on Linux, macOS or Windows (/ \ : * ? " < > |
// and control characters), and "%" and "_" themselves, are written %XX,
// so "A/1" and "A_1", or "X" with group "Y_Z" and "X_Y" with group "Z",
// get files of their own; a course coded like the export's summary gets
// a trailing "_". SENCE's codes (letters, digits, dashes) are written as
// they are. Codes that differ only in case still share a name on the
// case-insensitive file systems of Windows and macOS.
func FileName(c *payload.Course) string {
	name := fileEscape(c.CodigoOferta)
	if g := payload.Section(c.CodigoOferta, c.CodigoGrupo); g != "" {
		name += "_" + fileEscape(g)
	}
	if strings.EqualFold(name+".json", summaryFile) {
		name += "_"
	}
	return name + ".json"
}

func fileEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		// A byte that is not UTF-8 is escaped too: written as a rune it
		// would become U+FFFD, and two codes differing only there would
		// share a name.
		if strings.ContainsRune(`/\:*?"<>|%_`, r) || r < 32 || r == 127 || r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
