package demo

import (
	"fmt"
	"strconv"
)

// The demo follows SENCE's set-up guide: a course's short name is its SIC
// course code and each module section's name carries its SIC module code.
// The shapes and the places they take are the ones in SENCE's documents,
// so that the preset's defaults are what reads them.

// courseCode is the short name of the SENCE course at index i, in the
// shapes of SENCE's documents: CAP-21-01-13-0000-1 (the newest guide's
// examples), AYSEN-20-03-11-0007 (its history), BFCS-21-02-14-0106-3 (its
// SIC screens) and SIC's numeric "Código Oferta" (274714101).
func courseCode(i int) string {
	n := 101 + i
	switch i % 4 {
	case 1:
		return fmt.Sprintf("AYSEN-26-03-11-%04d", n)
	case 2:
		return fmt.Sprintf("BFCS-26-02-14-%04d-3", n)
	case 3:
		return strconv.Itoa(274714000 + n)
	}
	return fmt.Sprintf("CAP-26-01-13-%04d-1", n)
}

// moduleCode is the SIC code of module k (from 1) of the SENCE course at
// index i, in the shapes of SENCE's documents: C51737-O14-M1 (newest guide
// and 2022), C51737-014-M1 (2021 slides, a zero for the O),
// PRES028008000558 (the newest guide's SIC screens), ELE028837032039 and
// LE028837032039 (its Moodle screens and examples), and
// C46982-O565656565-M1 (SENCE's integration test) from the fifth course on.
func moduleCode(i, k int) string {
	switch {
	case i >= 4:
		return fmt.Sprintf("C%d-O%d-M%d", 61001+i, 565656000+i, k)
	case i == 1:
		return fmt.Sprintf("C%d-0%d-M%d", 61001+i, 101+i, k)
	case i == 2:
		return fmt.Sprintf("PRES0280080%05d", 558+k-1)
	case i == 3 && k%2 == 0:
		return fmt.Sprintf("LE0288370320%02d", 38+k)
	case i == 3:
		return fmt.Sprintf("ELE0288370320%02d", 38+k)
	}
	return fmt.Sprintf("C%d-O%d-M%d", 61001+i, 101+i, k)
}

// sectionName is how module k's section is named: the code at the start or
// after a number or a label, followed by a space, a dash, other
// punctuation or the end, as sites write them.
func sectionName(code, title string, k int) string {
	switch k % 5 {
	case 2:
		return "Módulo " + strconv.Itoa(k) + ": " + code
	case 3:
		return code + " - " + title
	case 4:
		return strconv.Itoa(k) + ". " + code + ": " + title
	case 0:
		return title + " (" + code + ")"
	}
	return code + " " + title
}

// blockSessionLimit is the dedication block's session limit on the demo
// site, in config_plugins: the 45 minutes between clicks SENCE asks for.
const blockSessionLimit = 2700

// bookCases adds the students that show how the preset reads a site set
// up by the book: grades on Chile's 1–7 scale and a class held on Zoom.
// A case whose course does not exist (Config.Courses < 4) is left out.
func (g *generator) bookCases() {
	clk := g.ds.clk
	mk := func(n int64, first, last string) *User {
		g.ruts[n] = true
		return g.addUser(&User{Username: fmtRUT(n), IDNumber: fmtRUT(n), FirstName: first, LastName: last, timecreated: clk.at(-150, 10*3600)})
	}
	if d := g.byCourse[3]; d != nil {
		// The course's gradebook is on 1–7; each of them did everything
		// and the enrolment ended two days before the report, so their
		// grade alone decides: SENCE's "nota ≥ 4".
		for _, c := range []struct {
			n           int64
			first, last string
			grade       float64
			name, note  string
		}{
			{15111222, "Rocío", "Alvarado Paz", 4.0, "nota-4.0",
				"1–7 gradebook, course and module totals 4.0, everything done, enrolment ended: estado 2 (student and modules), evaluacionFinal and notaModulo 60 (the exigency's percentage for 4.0)"},
			{15222333, "Esteban", "Barrera Lillo", 4.6, "nota-4.6",
				"1–7 gradebook, totals 4.6, everything done, enrolment ended: estado 2, evaluacionFinal and notaModulo 68"},
			{15333444, "Paula", "Cifuentes Mora", 3.9, "nota-3.9",
				"1–7 gradebook, totals 3.9, everything done, enrolment ended: estado 3 (student and modules), evaluacionFinal and notaModulo 58"},
		} {
			u := mk(c.n, c.first, c.last)
			e := g.enrol(u, d, roleStudent, pComplete, g.ue(d, clk.date(-30), clk.date(-2)))
			e.attends, e.grade = true, c.grade
			g.addCase(u, d, c.name, ExpectSent, c.note)
		}
	}
	if c := g.byCourse[2]; c != nil {
		u := mk(16333555, "Matías", "Zamora Ulloa")
		e := g.enrol(u, c, roleStudent, pHigh, g.ue(c, c.StartDate, c.EndDate))
		e.attends = true
		g.addCase(u, c, "zoom-class", ExpectSent,
			"attended the Zoom class of module 1 (mod_zoom, no completion tracking): with the preset's defaults (syncModules [bigbluebuttonbn]) the module has no synchronous class and a warning names the zoom classes left out; with syncModules [bigbluebuttonbn, zoom] the class is synchronous and its time adds into the module's and the student's tiempoConectividad")
	}
	if a := g.byCourse[0]; a != nil {
		u := mk(16444666, "Florencia", "Yáñez Oyarzún")
		e := g.enrol(u, a, roleStudent, pHigh, g.ue(a, a.StartDate, a.EndDate))
		e.attends = true
		g.addCase(u, a, "live-no-completion", ExpectSent,
			"attended module 3's BigBlueButton class, which has no completion tracking: it is still a synchronous activity (counted and listed) and its time adds into the module's and the student's tiempoConectividad, but it does not count for progress")
	}
}

// heldZoomMeetings numbers the reports of the Zoom meetings held by the
// snapshot (half an hour after their end, when the plugin's report task
// has fetched their participants from Zoom).
func (ds *Dataset) heldZoomMeetings() {
	var id int64
	for _, c := range ds.Courses {
		for _, a := range c.allActivities() {
			if a.Module == "zoom" && a.Open+a.Duration+1800 < ds.Now {
				id++
				a.zoomDetails = id
			}
		}
	}
}
