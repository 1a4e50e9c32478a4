// Package demo generates a deterministic, realistic Moodle 4.4 dataset for
// SENCE reporting: courses whose short names are SENCE codes, module
// sections named with SENCE module codes, students with Chilean RUTs,
// completion, grades, logs, dedication sessions and BigBlueButton
// attendance, plus the cases that break naive integrations (RUTs with dots
// or a lower-case k, suspended and doubled enrolments, deleted users,
// teachers, students starting after the report date, …), each attached to a
// known user and listed in Dataset.Cases with the outcome a correct engine
// must reach.
//
// Everything follows from Config.Seed and is placed relative to
// Config.ReportDate, never to the wall clock: the same Config gives the same
// bytes any day, and moving ReportDate moves every timestamp by the same
// number of seconds.
package demo

import (
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
)

// Config sizes and seeds a dataset.
type Config struct {
	// Seed drives every random choice (math/rand/v2 PCG).
	Seed uint64
	// ReportDate is the day the report is made, as a calendar date: its
	// year, month and day are read in its own location and placed in
	// America/Santiago. The data is a snapshot taken at 22:00 that day,
	// when SENCE's sending window opens. The zero value means 2026-11-20.
	ReportDate time.Time
	// Courses is the number of SENCE courses. The site course (id 1) and
	// one non-SENCE course come on top. The first four have fixed shapes:
	// running, ended, running with students starting after the report
	// date, and without course dates; further ones cycle through the first
	// three with varied dates.
	Courses int
	// StudentsPerCourse is the number of ordinary students enrolled in each
	// SENCE course; the special cases come on top.
	StudentsPerCourse int
	// ModulesPerCourse is the number of SENCE module sections per course.
	ModulesPerCourse int
	// ActivitiesPerModule is the number of activities with completion
	// tracking per module (one of them a BigBlueButton class); labels and
	// supplementary resources come on top. At least 4.
	ActivitiesPerModule int
	// LogEventsPerStudent is the average number of log rows a student who
	// takes part generates in a course; actual counts vary with the
	// student's engagement.
	LogEventsPerStudent int
	// EdgeCourses adds, after the non-SENCE course, the courses whose
	// outcome is a report rather than a plain payload: one whose sections
	// carry no module code, one taught in two sections (Moodle groups,
	// with a course idnumber and a custom course field for codigoGrupo, a
	// student who left), and one that looks like a SENCE course but whose
	// short name is not a SENCE code.
	EdgeCourses bool
}

// DefaultReportDate is the report date of DemoConfig.
var DefaultReportDate = time.Date(2026, time.November, 20, 0, 0, 0, 0, chile.Location)

// DemoConfig is the dataset of the demo, the tests and the golden files:
// four SENCE courses of five modules of seven activities, sixteen ordinary
// students each.
func DemoConfig() Config {
	return Config{
		Seed:                20261120,
		ReportDate:          DefaultReportDate,
		Courses:             4,
		StudentsPerCourse:   16,
		ModulesPerCourse:    5,
		ActivitiesPerModule: 7,
		LogEventsPerStudent: 80,
		EdgeCourses:         true,
	}
}

// Scaled is DemoConfig grown to courses SENCE courses holding about
// enrolments student enrolments in total, with the shape of the reference
// benchmark: 5 modules of 10 activities and about 400 log rows per enrolment
// (Scaled(200, 50000) gives about 20 million log rows).
func Scaled(courses, enrolments int) Config {
	c := DemoConfig()
	c.Courses = max(courses, 1)
	c.StudentsPerCourse = max(enrolments/c.Courses, 1)
	c.ModulesPerCourse = 5
	c.ActivitiesPerModule = 10
	c.LogEventsPerStudent = 440 // some students never come: about 400 on average
	c.EdgeCourses = false       // the benchmark measures SENCE courses only
	return c
}

// normalized fills defaults and raises sizes to the minimum the generator
// needs.
func (c Config) normalized() Config {
	if c.ReportDate.IsZero() {
		c.ReportDate = DefaultReportDate
	}
	c.Courses = max(c.Courses, 1)
	c.StudentsPerCourse = max(c.StudentsPerCourse, 0)
	c.ModulesPerCourse = max(c.ModulesPerCourse, 1)
	c.ActivitiesPerModule = max(c.ActivitiesPerModule, 4)
	c.LogEventsPerStudent = max(c.LogEventsPerStudent, 10)
	return c
}

// clock turns day offsets from the report date into Unix times. Every time
// in the dataset is base + a number of seconds that does not depend on the
// report date, so that moving the report date shifts all of them alike.
type clock struct {
	base int64 // 00:00 America/Santiago on the report date
}

const day = 86400

func newClock(reportDate time.Time) clock {
	y, m, d := reportDate.Date()
	return clock{base: time.Date(y, m, d, 0, 0, 0, 0, chile.Location).Unix()}
}

// at is sec seconds into day d (0 = the report date). Times the dataset
// means as dates are kept at least an hour from midnight, so a daylight
// saving change between d and the report date never moves them to another
// calendar day.
func (c clock) at(d int, sec int64) int64 { return c.base + int64(d)*day + sec }

// date is day d at 01:00, as Moodle's date pickers store dates (00:00) but
// safe from daylight saving changes.
func (c clock) date(d int) int64 { return c.at(d, 3600) }

// now is the snapshot time: 22:00 on the report date.
func (c clock) now() int64 { return c.at(0, 22*3600) }
