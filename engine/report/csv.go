package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// csvHeader are the columns of the spreadsheet.
var csvHeader = []string{"Curso", "Nombre del curso", "Alumno", "RUT", "Id Moodle", "Resultado",
	"Avance enviado (%)", "Estado enviado", "Tiempo de conexión enviado", "Avance que SENCE tenía (%)", "Estado que SENCE tenía",
	"Qué pasó", "Qué hacer", "Retrocesos"}

// WriteCSV writes one row per student, as Excel in Spanish opens it:
// UTF-8 with a BOM and «;» between columns.
func (m *Model) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, c := range m.Courses {
		students, err := m.CourseStudents(c)
		if err != nil {
			return err
		}
		for _, s := range students {
			sentP, sentE, sentT := s.SentNote, "", ""
			if s.Sent != nil {
				sentP, sentE, sentT = strconv.Itoa(s.Sent.Progress), Estado(s.Sent.Estado), Duration(s.Sent.Seconds)
			}
			beforeP, beforeE := "nada registrado", ""
			if m.Export {
				beforeP = "una exportación no lo consulta"
			}
			if s.Before != nil {
				beforeP, beforeE = strconv.Itoa(s.Before.Progress), Estado(s.Before.Estado)
			}
			var said, todo []string
			for _, p := range s.Problems {
				t := p.Said
				if p.Code != "" {
					t = "[" + p.Code + "] " + t
				}
				if p.Meaning != "" {
					t += ": " + p.Meaning
				}
				said = append(said, t)
				if p.Action != "" {
					todo = append(todo, p.Action)
				}
			}
			if err := cw.Write([]string{c.Label(), c.Name, s.Name, s.RUT, s.MoodleID, s.OutcomeText,
				sentP, sentE, sentT, beforeP, beforeE,
				strings.Join(said, " | "), strings.Join(todo, " | "), strings.Join(s.Regressions, " | ")}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
