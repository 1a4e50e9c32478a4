package assemble

import (
	"fmt"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// WhyNothing explains a build that gave no course to send: courses
// selected but none with a student to send, or no course selected, naming
// the selection in force (SelectionRule) and some of Moodle's short names
// (Stats.LeftOutNames). unselectedListed says the look-alike courses are
// listed beside it.
func WhyNothing(pl *plan.Plan, stats Stats, selected int, unselectedListed bool) string {
	if selected > 0 {
		return fmt.Sprintf("%s, pero ninguno tiene alumnos para enviar: revise los errores y exclusiones de cada curso, más arriba",
			diag.Plural(selected, "curso quedó seleccionado", "cursos quedaron seleccionados"))
	}
	msg := "ningún curso de Moodle quedó seleccionado como curso SENCE"
	if pl == nil {
		return msg
	}
	seen := stats.CoursesSeen
	switch {
	case seen == 0:
		return msg + ": la consulta de cursos («courses.from») no devolvió ninguno; revise que la base de datos sea la de su Moodle"
	case seen == 1:
		msg += ": el único curso de Moodle no " + SelectionRule(pl)
	default:
		msg += fmt.Sprintf(": ninguno de los %d cursos de Moodle %s", seen, SelectionRule(pl))
	}
	if names := stats.LeftOutNames; len(names) > 0 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = "«" + n + "»"
		}
		msg += "; nombres cortos de Moodle: " + strings.Join(quoted, ", ")
		if seen > len(names) {
			msg += fmt.Sprintf(" y %d más", seen-len(names))
		}
	}
	if unselectedListed {
		msg += ". Los que parecen cursos SENCE se listan arriba, con qué hacer"
	}
	if lv := pl.Levels[mapping.Course]; lv != nil && len(lv.List) > 0 {
		return msg + ". Escriba en «courses.list» los cursos SENCE por su nombre corto o id"
	}
	return msg + ". Escriba como nombre corto de cada curso SENCE su código de curso SENCE (por ejemplo CAP-21-01-13-0000-1), o ajuste la selección"
}

// SelectionRule says which rule selects the courses, as the mapping
// writes it, as a predicate of a course: it is in courses.list, its
// short name matches the pattern of the preset's include rule, or it
// meets the include rule itself.
func SelectionRule(pl *plan.Plan) string {
	lv := pl.Levels[mapping.Course]
	if lv == nil {
		return "está seleccionado"
	}
	if n := len(lv.List); n > 0 {
		return fmt.Sprintf("está en «courses.list» (%s)", diag.Plural(n, "curso", "cursos"))
	}
	inc := strings.TrimSpace(lv.Level.Include.Src)
	if p, ok := pl.Params["courseCodePattern"].(string); ok && strings.Contains(inc, "params.courseCodePattern") {
		return fmt.Sprintf("tiene un nombre corto que calce con params.courseCodePattern («%s»)", p)
	}
	if inc != "" {
		return fmt.Sprintf("cumple «courses.include» («%s»)", inc)
	}
	return "está seleccionado"
}
