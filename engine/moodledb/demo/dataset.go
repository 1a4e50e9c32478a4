package demo

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/rut"
)

// Expected outcomes of a Case for a correct engine.
const (
	// ExpectSent: the student is in the course's payload.
	ExpectSent = "sent"
	// ExpectExcluded: the student is left out of the payload and reported
	// as a problem (no usable RUT, no dates to report, …).
	ExpectExcluded = "excluded"
	// ExpectNotSent: the user is rightly not part of any payload and no
	// problem is reported (not a student, not started yet, not a SENCE
	// course).
	ExpectNotSent = "not-sent"
	// ExpectNoted: the student is not in the payload and the summary says
	// why (a student who left: enrolment suspended or its method
	// disabled).
	ExpectNoted = "noted"
	// ExpectCourseError: the user's course is not sent, and the cause is
	// said once for the course (no section carries a module code).
	ExpectCourseError = "course-error"
	// ExpectUnselected: the user's course is not selected as a SENCE
	// course but looks like one: it is reported by name.
	ExpectUnselected = "unselected"
)

// Case names one special situation of the dataset, attached to a user in a
// course, with the outcome a correct engine must reach.
type Case struct {
	UserID   int64
	CourseID int64
	Case     string // e.g. "rut-dots", "suspended", "double-enrolment"
	Expect   string // ExpectSent, ExpectExcluded or ExpectNotSent
	Note     string // what is special, in a few words
}

// RosterCourse is what SENCE has registered for a course: the codes and the
// RUTs ("12345678-5", upper-case K) of its students and its modules' codes.
type RosterCourse struct {
	CodigoOferta string
	CodigoGrupo  string
	Students     []string
	Modules      []string
}

// Dataset is a generated Moodle site. Its structure (courses, sections,
// activities, users, enrolments) is held in memory; the per-student rows
// (completion, grades, logs, sessions) are generated while loading, so a
// benchmark-sized dataset streams into the database.
type Dataset struct {
	Config  Config
	Now     int64 // the snapshot time: 22:00 America/Santiago on the report date
	Courses []*Course
	Users   []*User
	Cases   []Case

	clk        clock
	enrolments []*enrolment // by course, then user id
	contextN   int64        // contexts allocated
}

// Course is a Moodle course. The site course (ID 1) is Courses[0].
type Course struct {
	ID        int64
	Shortname string // the SENCE code for SENCE courses
	Fullname  string
	SENCE     bool
	StartDate int64 // 0 = none
	EndDate   int64 // 0 = none
	ContextID int64
	// Sections are all the course's sections by number: 0 (general), the
	// module sections, and a closing section without a module code.
	Sections []*Section
	// Aggregation of the course's grade categories: 0 mean of grades, 13
	// natural (sums, with a per-student range).
	Aggregation int
	// GradeCategoryID is the course's root grade category, GradeItemID its
	// course total item.
	GradeCategoryID, GradeItemID int64
	// IDNumber is the course's «Número de ID del curso» ("" when unset),
	// FieldValue its custom course field codigogrupo ("" when unset).
	IDNumber, FieldValue string
	// Groups are the course's Moodle groups.
	Groups []*Group

	idx                  int // position among SENCE courses; -1 for others
	kind                 courseKind
	category             int64
	timecreated          int64
	enrolManual          int64
	enrolGuest           int64
	enrolSelf            int64
	selfStatus           int
	teachers             []int64 // editing teachers, the first grades
	courseMin, courseMax float64 // course total range
}

// Group is a Moodle group and its members.
type Group struct {
	ID      int64
	Name    string
	Members []int64 // user ids
}

// Section is a course section; module sections carry a SENCE module code.
type Section struct {
	ID         int64
	Number     int
	Name       string // "" when Moodle's default name is used (NULL)
	Code       string // SENCE module code, "" when not a module
	Activities []*Activity
	// GradeCategoryID and GradeItemID are the module's grade category and
	// its total item, 0 when the section has none.
	GradeCategoryID, GradeItemID int64
}

// chilean reports whether the course's gradebook (course total and module
// categories) is on Chile's 1–7 scale.
func (c *Course) chilean() bool { return c.courseMin == 1 && c.courseMax == 7 }

// Modules returns the course's module sections (those with a code).
func (c *Course) Modules() []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if s.Code != "" {
			out = append(out, s)
		}
	}
	return out
}

// Activity is a course module (course_modules row) and its instance.
type Activity struct {
	CMID           int64
	Module         string // modules.name
	Instance       int64
	Name           string
	Completion     int // 0 none, 1 manual, 2 automatic
	CompletionView bool
	Deleting       bool // deletioninprogress = 1
	ContextID      int64
	// GradeItemID is the activity's grade item, 0 when not graded.
	GradeItemID         int64
	GradeMax, GradePass float64
	// Open is the start of a BigBlueButton class, Duration its length in
	// seconds; both 0 for other activities.
	Open, Duration int64

	section     *Section
	modIndex    int    // 0-based module position, -1 outside modules
	extra       string // "" or what makes it special (long-name, no-completion, …)
	zoomDetails int64  // a held Zoom meeting's zoom_meeting_details id
}

// Mandatory reports whether the activity counts for progress as Moodle 4.x
// counts it: completion tracked and not being deleted.
func (a *Activity) Mandatory() bool { return a.Completion > 0 && !a.Deleting }

// User is a Moodle user.
type User struct {
	ID        int64
	Username  string
	IDNumber  string
	FirstName string
	LastName  string
	Email     string
	Deleted   bool
	// RUT is the user's valid RUT as SENCE wants it ("12345678-5"), from
	// the idnumber or else the username, "" when there is none.
	RUT string

	loginName               string // the username the logs saw, before any deletion
	city                    string
	phone                   string
	timecreated             int64
	firstaccess, lastaccess int64
	unregistered            bool // valid RUT SENCE does not know (error 012)
}

type courseKind int

const (
	kindSite courseKind = iota
	kindRunning
	kindEnded
	kindLate    // running, some students start after the report date
	kindNoDates // startdate and enddate 0
	kindOther   // not a SENCE course
	// The edge courses (Config.EdgeCourses).
	kindNoCodes   // selected, but no section carries a module code
	kindGroups    // taught in two sections: Moodle groups named with section codes
	kindLookalike // module codes and students, but its short name is no SENCE code
)

type profile int

const (
	pNever    profile = iota // enrolled, never came
	pLow                     // a few activities
	pMedium                  // behind the course's pace
	pHigh                    // on or ahead of pace
	pComplete                // everything done, high grades
	pViewer                  // reads everything, never submits: no grade
	pPartial                 // stopped half way
)

// Role ids of a standard Moodle install.
const (
	roleEditingTeacher = 3
	roleTeacher        = 4
	roleStudent        = 5
)

// enrolment is a user's participation in a course: one or more
// user_enrolments rows and one role.
type enrolment struct {
	user    *User
	course  *Course
	role    int64
	ues     []userEnrolment
	profile profile
	seed    uint64
	// attends every live class held in the enrolment, to the end.
	attends bool
	// grade, when set, is the course total and every module total the
	// teacher gave, on the course's 1–7 scale.
	grade float64
}

type userEnrolment struct {
	enrolID    int64
	status     int
	start, end int64 // 0 = none
	created    int64
	modifier   int64
}

// window is the time the student can work: from the start of the
// enrolment (or the course) to its end, capped at the snapshot.
func (e *enrolment) window(clk clock) (from, to int64) {
	for _, u := range e.ues {
		if u.start > 0 && (from == 0 || u.start < from) {
			from = u.start
		}
	}
	if from == 0 {
		from = e.course.StartDate
	}
	if from == 0 {
		from = clk.date(-30) // nothing says when: the student started anyway
	}
	open := false
	for _, u := range e.ues {
		if u.end == 0 {
			open = true
		} else if u.end > to {
			to = u.end
		}
	}
	if open || to == 0 {
		to = e.course.EndDate
	}
	if to == 0 || to > clk.now() {
		to = clk.now()
	}
	return from, to
}

// Generate builds the dataset described by cfg. It is cheap: the bulk of
// the rows is generated by Load and WriteSQL.
func Generate(cfg Config) *Dataset {
	cfg = cfg.normalized()
	ds := &Dataset{Config: cfg, clk: newClock(cfg.ReportDate)}
	ds.Now = ds.clk.now()
	g := &generator{ds: ds, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7573657273)), ruts: map[int64]bool{}, usernames: map[string]bool{}}
	g.courses()
	g.users()
	for _, c := range ds.Courses {
		g.structure(c)
	}
	ds.heldZoomMeetings()
	slices.SortStableFunc(ds.enrolments, func(a, b *enrolment) int {
		return cmp.Or(cmp.Compare(a.course.ID, b.course.ID), cmp.Compare(a.user.ID, b.user.ID))
	})
	for _, e := range ds.enrolments {
		e.seed = uint64(e.course.ID)<<32 | uint64(e.user.ID)
	}
	g.enrolInstances()
	g.accessTimes()
	return ds
}

type generator struct {
	ds        *Dataset
	rng       *rand.Rand
	ruts      map[int64]bool
	usernames map[string]bool
	byCourse  map[int]*Course // SENCE index → course
	other     *Course
	// The edge courses, nil without Config.EdgeCourses.
	noCodes, grouped, lookalike *Course
	groupN                      int64
	// id counters
	sectionN, cmN, gradeCatN, gradeItemN int64
	instanceN                            map[string]int64
}

func (g *generator) courses() {
	ds, clk := g.ds, g.ds.clk
	site := &Course{ID: 1, Shortname: "campus", Fullname: "Campus Virtual Capacita Chile", idx: -1, kind: kindSite, timecreated: clk.at(-400, 10*3600)}
	ds.Courses = append(ds.Courses, site)
	g.byCourse = map[int]*Course{}
	for i := range ds.Config.Courses {
		c := &Course{ID: int64(i + 2), SENCE: true, idx: i, category: 2}
		crng := rand.New(rand.NewPCG(ds.Config.Seed, 0xC0<<56|uint64(c.ID)))
		t := topics[i%len(topics)]
		c.Fullname = t.fullname
		if i >= len(topics) {
			c.Fullname += fmt.Sprintf(" (grupo %d)", i/len(topics)+1)
		}
		c.Shortname = courseCode(i)
		var start, end int
		switch {
		case i == 0:
			c.kind, start, end = kindRunning, -45, 30
		case i == 1:
			c.kind, start, end = kindEnded, -100, -10
		case i == 2:
			c.kind, start, end = kindLate, -20, 60
		case i == 3:
			c.kind = kindNoDates
		default:
			switch (i - 4) % 3 {
			case 0:
				c.kind, start, end = kindRunning, -20-crng.IntN(60), 10+crng.IntN(50)
			case 1:
				c.kind, start, end = kindEnded, -60-crng.IntN(90), -1-crng.IntN(30)
			default:
				c.kind, start, end = kindLate, -5-crng.IntN(25), 30+crng.IntN(60)
			}
		}
		if c.kind != kindNoDates {
			c.StartDate, c.EndDate = clk.date(start), clk.date(end)
			c.timecreated = clk.at(start-20, 11*3600+int64(crng.IntN(3600)))
		} else {
			c.timecreated = clk.at(-60, 11*3600)
		}
		if c.kind == kindEnded && i == 1 {
			c.Aggregation = 13 // natural: per-student ranges in rawgrademax
		}
		c.courseMin, c.courseMax = 0, 100
		if c.kind == kindNoDates {
			c.courseMin, c.courseMax = 1, 7 // gradebook on Chile's 1–7 scale
		}
		ds.Courses = append(ds.Courses, c)
		g.byCourse[i] = c
	}
	g.other = &Course{
		ID: int64(ds.Config.Courses + 2), Shortname: "INDUCCION-DOCENTES", Fullname: "Inducción docente: uso del aula virtual",
		idx: -1, kind: kindOther, category: 1, StartDate: clk.date(-60), timecreated: clk.at(-75, 9*3600),
		courseMin: 0, courseMax: 100,
	}
	ds.Courses = append(ds.Courses, g.other)
	if ds.Config.EdgeCourses {
		g.edgeCourses()
	}
}

// edgeCourses adds the courses whose outcome is a report rather than a
// plain payload. They come after every other course, so that the ids of
// the others do not move.
func (g *generator) edgeCourses() {
	ds, clk := g.ds, g.ds.clk
	add := func(kind courseKind, shortname string, start, end int) *Course {
		idx := ds.Config.Courses + int(kind-kindNoCodes)
		c := &Course{ID: int64(len(ds.Courses) + 1), Shortname: shortname, SENCE: true, idx: idx, kind: kind, category: 2,
			Fullname: topics[idx%len(topics)].fullname, StartDate: clk.date(start), EndDate: clk.date(end)}
		crng := rand.New(rand.NewPCG(ds.Config.Seed, 0xC0<<56|uint64(c.ID)))
		c.timecreated = clk.at(start-20, 11*3600+int64(crng.IntN(3600)))
		c.courseMin, c.courseMax = 0, 100
		ds.Courses = append(ds.Courses, c)
		return c
	}
	g.noCodes = add(kindNoCodes, fmt.Sprintf("CAP-26-01-13-%04d-1", 101+ds.Config.Courses), -40, 35)
	g.grouped = add(kindGroups, fmt.Sprintf("CAP-26-01-13-%04d-1", 102+ds.Config.Courses), -30, 40)
	g.grouped.IDNumber = "COD-SEC-000106100"
	g.grouped.FieldValue = "COD-SEC-000106200"
	// A coordinator typed the course's name where its SENCE code goes.
	g.lookalike = add(kindLookalike, "BODEGA 2026", -25, 50)
}

// GroupCodes are the SENCE section codes of the grouped edge course's
// Moodle groups, in order.
var GroupCodes = []string{"COD-SEC-000106001", "COD-SEC-000106002"}

// edgeUsers enrols the students of the edge courses, after every other
// user so that their ids and random draws do not move.
func (g *generator) edgeUsers() {
	if g.noCodes == nil {
		return
	}
	ds := g.ds
	full := func(c *Course) userEnrolment { return g.ue(c, c.StartDate, c.EndDate) }
	enrolSome := func(c *Course, n int) []*User {
		crng := rand.New(rand.NewPCG(ds.Config.Seed, 0x5E<<56|uint64(c.ID)))
		var out []*User
		for range n {
			u := g.student()
			g.enrol(u, c, roleStudent, []profile{pMedium, pHigh, pLow, pComplete}[crng.IntN(4)], full(c))
			out = append(out, u)
		}
		return out
	}
	us := enrolSome(g.noCodes, 4)
	g.addCase(us[0], g.noCodes, "no-module-codes", ExpectCourseError, "no section name carries a module code: the course cannot be sent, said once")

	c := g.grouped
	us = enrolSome(c, 10)
	group := func(name string, members ...*User) {
		g.groupN++
		gr := &Group{ID: g.groupN, Name: name}
		for _, u := range members {
			gr.Members = append(gr.Members, u.ID)
		}
		c.Groups = append(c.Groups, gr)
	}
	morning, afternoon := us[:5], us[5:]
	lone := g.student()
	g.enrol(lone, c, roleStudent, pMedium, full(c))
	g.addCase(lone, c, "no-sence-group", ExpectSent, "in no Moodle group with a section code (only in the tutoring group): with groups as sections, excluded with the cause")
	both := g.student()
	g.enrol(both, c, roleStudent, pHigh, full(c))
	g.addCase(both, c, "two-sence-groups", ExpectSent, "in both Moodle groups with a section code: with groups as sections, excluded with the cause")
	left := g.student()
	ue := full(c)
	ue.status = 1 // suspended after working through part of the course
	g.enrol(left, c, roleStudent, pMedium, ue)
	g.addCase(left, c, "left", ExpectNoted, "enrolment suspended after taking part: reported as having left, sent estado 3 with params.leavers: send")
	group(GroupCodes[0]+" Mañana", append(slices.Clone(morning), both, left)...)
	group(GroupCodes[1]+" Tarde", append(slices.Clone(afternoon), both)...)
	group("Tutoría de refuerzo", us[0], us[7], lone)

	us = enrolSome(g.lookalike, 5)
	g.addCase(us[0], g.lookalike, "lookalike", ExpectUnselected, "short name is no SENCE course code, but sections carry module codes and it has students")
}

// newRUT draws a RUT number not used yet, of a Chilean adult.
func (g *generator) newRUT() int64 {
	for {
		n := 6_000_000 + g.rng.Int64N(20_000_000)
		if !g.ruts[n] {
			g.ruts[n] = true
			return n
		}
	}
}

func fmtRUT(n int64) string { return strconv.FormatInt(n, 10) + "-" + rut.CheckDigit(n) }

func (g *generator) addUser(u *User) *User {
	u.ID = int64(len(g.ds.Users) + 1)
	if g.usernames[u.Username] {
		panic("demo: duplicate username " + u.Username)
	}
	g.usernames[u.Username] = true
	if u.Email == "" {
		u.Email = g.email(u.FirstName, u.LastName)
	}
	if u.city == "" {
		u.city = cities[g.rng.IntN(len(cities))]
	}
	u.phone = fmt.Sprintf("+56 9 %04d %04d", g.rng.IntN(10000), g.rng.IntN(10000))
	if u.RUT == "" && !u.Deleted {
		for _, s := range []string{u.IDNumber, u.Username} {
			if strings.TrimSpace(s) == "" {
				continue
			}
			if r, err := rut.Parse(s); err == nil {
				u.RUT = r.String()
			}
			break // the idnumber wins when set, valid or not
		}
	}
	if u.loginName == "" {
		u.loginName = u.Username
	}
	g.ds.Users = append(g.ds.Users, u)
	return u
}

// plain lower-cases and strips accents, for usernames and e-mails.
func plain(s string) string {
	r := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ü", "u", "ñ", "n",
		"Á", "a", "É", "e", "Í", "i", "Ó", "o", "Ú", "u", "Ñ", "n", " ", "")
	return strings.ToLower(r.Replace(s))
}

func (g *generator) email(first, last string) string {
	f := plain(strings.Fields(first)[0])
	l := plain(strings.Fields(last)[0])
	return f + "." + l + strconv.Itoa(g.rng.IntN(900)+100) + "@correo.example.com"
}

func (g *generator) name() (string, string) {
	f := firstNames[g.rng.IntN(len(firstNames))]
	l1 := lastNames[g.rng.IntN(len(lastNames))]
	l2 := lastNames[g.rng.IntN(len(lastNames))]
	return f, l1 + " " + l2
}

// student makes an ordinary student: a valid RUT in idnumber and, on most
// sites, the same RUT as username (Moodle lower-cases the k).
func (g *generator) student() *User {
	n := g.newRUT()
	first, last := g.name()
	u := &User{IDNumber: fmtRUT(n), FirstName: first, LastName: last}
	if g.rng.IntN(10) < 7 {
		u.Username = strings.ToLower(u.IDNumber)
	} else {
		base := plain(first[:1]) + plain(strings.Fields(last)[0])
		u.Username = base
		for i := 2; g.usernames[u.Username]; i++ {
			u.Username = base + strconv.Itoa(i)
		}
	}
	u.timecreated = g.ds.clk.at(-120-g.rng.IntN(200), int64(9*3600+g.rng.IntN(8*3600)))
	return g.addUser(u)
}

func (g *generator) enrol(u *User, c *Course, role int64, p profile, ues ...userEnrolment) *enrolment {
	e := &enrolment{user: u, course: c, role: role, profile: p, ues: ues}
	g.ds.enrolments = append(g.ds.enrolments, e)
	return e
}

func (g *generator) addCase(u *User, c *Course, name, expect, note string) {
	g.ds.Cases = append(g.ds.Cases, Case{UserID: u.ID, CourseID: c.ID, Case: name, Expect: expect, Note: note})
}

// ue is an active manual enrolment spanning the course, or the given days.
func (g *generator) ue(c *Course, start, end int64) userEnrolment {
	created := start - day
	if start == 0 {
		created = c.timecreated + day
	}
	return userEnrolment{start: start, end: end, created: created, modifier: 2}
}

func (g *generator) randomProfile(r *rand.Rand) profile {
	switch x := r.IntN(100); {
	case x < 5:
		return pNever
	case x < 25:
		return pLow
	case x < 70:
		return pMedium
	default:
		return pHigh
	}
}

func (g *generator) users() {
	ds, clk := g.ds, g.ds.clk
	g.addUser(&User{Username: "guest", FirstName: "Usuario", LastName: "invitado", Email: "root@localhost", timecreated: clk.at(-400, 10*3600)})
	g.addUser(&User{Username: "admin", FirstName: "Administrador", LastName: "Campus", Email: "soporte@capacita.example.com", timecreated: clk.at(-400, 10*3600)})
	t1 := g.addUser(&User{Username: "cfuentes", IDNumber: fmtRUT(13579246), FirstName: "Carolina", LastName: "Fuentes Araya", timecreated: clk.at(-380, 10*3600)})
	t2 := g.addUser(&User{Username: "rvalenzuela", IDNumber: fmtRUT(14682357), FirstName: "Rodrigo", LastName: "Valenzuela Soto", timecreated: clk.at(-370, 10*3600)})
	t3 := g.addUser(&User{Username: "psepulveda", IDNumber: fmtRUT(10293847), FirstName: "Patricia", LastName: "Sepúlveda Morales", timecreated: clk.at(-365, 10*3600)})
	for _, n := range []int64{13579246, 14682357, 10293847} {
		g.ruts[n] = true
	}
	teacher := func(u *User, c *Course, role int64) {
		g.enrol(u, c, role, pNever, userEnrolment{start: c.timecreated + day, created: c.timecreated + day, modifier: 2})
		if role == roleEditingTeacher {
			c.teachers = append(c.teachers, u.ID)
		}
	}
	for i := 0; i < ds.Config.Courses; i++ {
		c := g.byCourse[i]
		switch {
		case i == 0 || i == 1:
			teacher(t1, c, roleEditingTeacher)
		case i == 2 || i == 3:
			teacher(t2, c, roleEditingTeacher)
		case i%2 == 0:
			teacher(t1, c, roleEditingTeacher)
		default:
			teacher(t2, c, roleEditingTeacher)
		}
	}
	teacher(t3, g.other, roleEditingTeacher)
	if a := g.byCourse[0]; a != nil {
		teacher(t2, a, roleTeacher)
		g.addCase(t1, a, "teacher", ExpectNotSent, "editingteacher role, not a student")
		g.addCase(t2, a, "teacher", ExpectNotSent, "non-editing teacher role, not a student")
	}

	g.specials()

	// Ordinary students; from the second course on, one in ten also took
	// the previous course.
	var prev []*User
	for i := 0; i < ds.Config.Courses; i++ {
		c := g.byCourse[i]
		crng := rand.New(rand.NewPCG(ds.Config.Seed, 0x5E<<56|uint64(c.ID)))
		var cur []*User
		taken := map[int64]bool{}
		for k := range ds.Config.StudentsPerCourse {
			var u *User
			if len(prev) > 0 && k%10 == 9 {
				for _, p := range prev[crng.IntN(len(prev)):] {
					if !taken[p.ID] {
						u = p
						break
					}
				}
			}
			if u == nil {
				u = g.student()
			}
			taken[u.ID] = true
			cur = append(cur, u)
			start, end := c.StartDate, c.EndDate
			switch c.kind {
			case kindNoDates:
				start, end = clk.date(-30-crng.IntN(5)), clk.date(45)
			case kindLate:
				if i >= 4 && crng.IntN(5) == 0 {
					start = clk.date(2 + crng.IntN(12))
				}
			}
			if start > 0 && c.kind != kindNoDates && start < clk.now() && crng.IntN(4) == 0 {
				start += int64(crng.IntN(5)) * day // enrolled a few days late
			}
			p := g.randomProfile(crng)
			g.enrol(u, c, roleStudent, p, g.ue(c, start, end))
			if start > clk.now() {
				g.addCase(u, c, "future-start", ExpectNotSent, "enrolment starts after the report date")
			}
		}
		prev = cur
	}
	// The teachers' induction course: teachers enrolled as students.
	crng := rand.New(rand.NewPCG(ds.Config.Seed, 0x5E<<56|uint64(g.other.ID)))
	induction := []*User{t1, t2}
	for range 3 {
		first, last := g.name()
		n := g.newRUT()
		induction = append(induction, g.addUser(&User{Username: plain(first[:1]) + plain(strings.Fields(last)[0]) + ".docente", IDNumber: fmtRUT(n), FirstName: first, LastName: last, timecreated: clk.at(-70, 10*3600)}))
	}
	for _, u := range induction {
		g.enrol(u, g.other, roleStudent, g.randomProfile(crng), g.ue(g.other, g.other.StartDate, 0))
		g.addCase(u, g.other, "non-sence-course", ExpectNotSent, "student of a course that is not a SENCE course")
	}
	g.bookCases()
	g.edgeUsers()
}

// specials creates the users of the special cases. A case whose course
// does not exist (Config.Courses < 4) is left out.
func (g *generator) specials() {
	clk := g.ds.clk
	a, b, c, d := g.byCourse[0], g.byCourse[1], g.byCourse[2], g.byCourse[3]
	mk := func(username, idnumber, first, last string) *User {
		return g.addUser(&User{Username: username, IDNumber: idnumber, FirstName: first, LastName: last, timecreated: clk.at(-150, 10*3600)})
	}
	full := func(c *Course) userEnrolment { return g.ue(c, c.StartDate, c.EndDate) }
	mark := func(n int64) int64 { g.ruts[n] = true; return n }

	if a != nil {
		u := mk("apoblete", "12.345.678-5", "Andrea", "Poblete Lagos")
		mark(12345678)
		g.enrol(u, a, roleStudent, pHigh, full(a))
		g.addCase(u, a, "rut-dots", ExpectSent, "idnumber written with dots: 12.345.678-5")

		u = mk("17118181-k", "", "Sergio", "Catalán Ríos")
		mark(17118181)
		g.enrol(u, a, roleStudent, pMedium, full(a))
		g.addCase(u, a, "rut-username-k", ExpectSent, "empty idnumber; RUT in the username with Moodle's lower-case k")

		mark(9876543)
		u = mk("mmena", " 9 876 543 - "+rut.CheckDigit(9876543)+" ", "Marcela", "Mena Tapia")
		g.enrol(u, a, roleStudent, pMedium, full(a))
		g.addCase(u, a, "rut-spaces", ExpectSent, "idnumber with spaces around and inside: "+strconv.Quote(u.IDNumber))

		u = mk("jperez", "", "Juan", "Pérez Cofré")
		g.enrol(u, a, roleStudent, pMedium, full(a))
		g.addCase(u, a, "no-rut", ExpectExcluded, "empty idnumber and a username that is not a RUT")

		mark(11111111)
		u = mk("lsilva", "11111111-2", "Luis", "Silva Parra")
		g.enrol(u, a, roleStudent, pMedium, full(a))
		g.addCase(u, a, "rut-invalid", ExpectExcluded, "wrong check digit: 11111111-2 (should be 1)")

		u = mk(strings.ToLower(fmtRUT(mark(16254873))), fmtRUT(16254873), "Daniela", "Ortiz Bravo")
		g.enrol(u, a, roleStudent, pMedium, g.ue(a, 0, 0))
		g.addCase(u, a, "enrol-no-dates", ExpectSent, "enrolment timestart and timeend 0: the course's dates apply")

		u = mk(strings.ToLower(fmtRUT(mark(15888222))), fmtRUT(15888222), "Ignacio", "Rojas Vidal")
		ue := full(a)
		ue.status = 1
		g.enrol(u, a, roleStudent, pLow, ue)
		g.addCase(u, a, "suspended", ExpectNoted, "user_enrolments.status = 1 (suspended): reported as having left")

		// A deleted user as Moodle leaves it: username e-mail.timestamp,
		// idnumber cleared. The enrolment is still there, as a sync
		// plugin that only flags users leaves it.
		deletedAt := clk.at(-12, 15*3600)
		u = mk("vcastro@correo.example.com."+strconv.FormatInt(deletedAt, 10), "", "Valentina", "Castro Núñez")
		u.Deleted = true
		u.loginName = "vcastro"
		u.Email = "d41d8cd98f00b204e9800998ecf8427e"
		g.enrol(u, a, roleStudent, pLow, full(a))
		g.addCase(u, a, "deleted", ExpectNotSent, "user.deleted = 1")

		u = mk(strings.ToLower(fmtRUT(mark(18765432))), fmtRUT(18765432), "Tomás", "Herrera Gálvez")
		self := g.ue(a, clk.date(-20), 0)
		self.enrolID = -1 // the self enrolment instance
		self.modifier = u.ID
		g.enrol(u, a, roleStudent, pHigh, full(a), self)
		g.addCase(u, a, "double-enrolment", ExpectSent, "enrolled twice (manual and self): one student")

		u = mk("fsoto", fmtRUT(mark(19456123)), "Francisca", "Soto Miranda")
		g.enrol(u, a, roleStudent, pViewer, full(a))
		g.addCase(u, a, "no-grade", ExpectSent, "takes part but has no grade yet (finalgrade NULL)")

		u = mk(strings.ToLower(fmtRUT(mark(20111222))), fmtRUT(20111222), "Benjamín", "Araya Quiroz")
		u.unregistered = true
		g.enrol(u, a, roleStudent, pMedium, full(a))
		g.addCase(u, a, "not-registered", ExpectSent, "valid RUT that SENCE does not know: SENCE answers 012")
	}
	if b != nil {
		u := mk(strings.ToLower(fmtRUT(mark(17654321))), fmtRUT(17654321), "Josefa", "Carrasco Leiva")
		g.enrol(u, b, roleStudent, pComplete, full(b))
		g.addCase(u, b, "passed-all", ExpectSent, "every activity complete, high grades: estado 2")

		u = mk(strings.ToLower(fmtRUT(mark(16987654))), fmtRUT(16987654), "Cristián", "Muñoz Espinoza")
		g.enrol(u, b, roleStudent, pPartial, full(b))
		g.addCase(u, b, "ended-incomplete", ExpectSent, "enrolment ended before the report date with progress incomplete: estado 3")

		u = mk(strings.ToLower(fmtRUT(mark(15432198))), fmtRUT(15432198), "Rosa", "Pinto Guerrero")
		ue := full(b)
		ue.enrolID = -1 // through the self enrolment, which is disabled
		ue.modifier = u.ID
		g.enrol(u, b, roleStudent, pMedium, ue)
		g.addCase(u, b, "enrol-disabled", ExpectNoted, "only enrolment is through a disabled enrol instance (enrol.status = 1): reported as having left")
	}
	if c != nil {
		for k, days := range []int{3, 7, 12} {
			n := mark(int64(14000111 + 1111*k))
			first, last := []string{"Pía", "Gonzalo", "Antonia"}[k], []string{"Vera Salinas", "Lagos Meza", "Ibáñez Rivas"}[k]
			u := mk(strings.ToLower(fmtRUT(n)), fmtRUT(n), first, last)
			g.enrol(u, c, roleStudent, pHigh, g.ue(c, clk.date(days), c.EndDate))
			g.addCase(u, c, "future-start", ExpectNotSent, fmt.Sprintf("enrolment starts %d days after the report date", days))
		}
	}
	if d != nil {
		u := mk(strings.ToLower(fmtRUT(mark(13246875))), fmtRUT(13246875), "Hugo", "Fernández Paredes")
		g.enrol(u, d, roleStudent, pMedium, g.ue(d, 0, 0))
		g.addCase(u, d, "no-dates", ExpectExcluded, "no enrolment dates and the course has no start or end date")

		u = mk(strings.ToLower(fmtRUT(mark(12987345))), fmtRUT(12987345), "Elena", "Gutiérrez Montt")
		g.enrol(u, d, roleStudent, pMedium, g.ue(d, clk.date(-28), 0))
		g.addCase(u, d, "no-end-date", ExpectExcluded, "open-ended enrolment in a course without end date: no fechaFin")
	}
}

// enrolInstances gives every course its enrol instances (manual, guest,
// self as Moodle creates them) and points the enrolments at them.
func (g *generator) enrolInstances() {
	var id int64
	for _, c := range g.ds.Courses {
		if c.kind == kindSite {
			continue
		}
		id++
		c.enrolManual = id
		id++
		c.enrolGuest = id
		id++
		c.enrolSelf = id
		c.selfStatus = 1 // Moodle's default for a new course
		if c.idx == 0 || c.kind == kindOther {
			c.selfStatus = 0
		}
	}
	for _, e := range g.ds.enrolments {
		for i := range e.ues {
			if e.ues[i].enrolID == -1 {
				e.ues[i].enrolID = e.course.enrolSelf
			} else {
				e.ues[i].enrolID = e.course.enrolManual
			}
		}
	}
}

// accessTimes sets user.firstaccess/lastaccess roughly from the users'
// enrolments: first visit the morning the enrolment starts, last visit
// around midday of its last active day (the logs are the source of truth).
func (g *generator) accessTimes() {
	clk, now := g.ds.clk, g.ds.Now
	for _, e := range g.ds.enrolments {
		if e.role == roleStudent && e.profile == pNever {
			continue
		}
		from, to := e.window(clk)
		if from >= now {
			continue
		}
		u := e.user
		first := clk.at(dayOf(clk, from), 9*3600)
		last := max(clk.at(dayOf(clk, to-19*3600)-int(e.seed%3), 12*3600+int64(e.seed%7)*600), first)
		if u.firstaccess == 0 || first < u.firstaccess {
			u.firstaccess = first
		}
		u.lastaccess = max(u.lastaccess, last)
	}
}

// Roster returns what SENCE has registered for each SENCE course that can
// be sent: its code as both codigoOferta and codigoGrupo, the valid RUTs of
// its students (suspended or late ones included: SENCE registers
// participants when the course is set up) except the one left out on
// purpose to show error 012, and the codes of all its modules. The course
// taught in two sections is also registered under each section code (its
// group's students), its idnumber and its custom field, so that every
// choice of codigoGrupo can be sent.
func (ds *Dataset) Roster() []RosterCourse {
	var out []RosterCourse
	for _, c := range ds.Courses {
		if !c.SENCE || c.kind == kindNoCodes || c.kind == kindLookalike {
			continue
		}
		rc := RosterCourse{CodigoOferta: c.Shortname, CodigoGrupo: c.Shortname, Students: []string{}}
		for _, s := range c.Modules() {
			rc.Modules = append(rc.Modules, s.Code)
		}
		members := map[int64]bool{}
		rc.Students = ds.rosterStudents(c, nil)
		out = append(out, rc)
		for _, code := range []string{c.IDNumber, c.FieldValue} {
			if code != "" {
				x := rc
				x.CodigoGrupo = code
				out = append(out, x)
			}
		}
		for _, gr := range c.Groups {
			code := ""
			for _, gc := range GroupCodes {
				if strings.HasPrefix(gr.Name, gc) {
					code = gc
				}
			}
			if code == "" {
				continue
			}
			clear(members)
			for _, id := range gr.Members {
				members[id] = true
			}
			x := rc
			x.CodigoGrupo = code
			x.Students = ds.rosterStudents(c, members)
			out = append(out, x)
		}
	}
	return out
}

// rosterStudents are the RUTs SENCE registers for a course (of only the
// given users when not nil), sorted.
func (ds *Dataset) rosterStudents(c *Course, only map[int64]bool) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, e := range ds.enrolments {
		if e.course != c || e.role != roleStudent || e.user.RUT == "" || e.user.unregistered || seen[e.user.RUT] {
			continue
		}
		if only != nil && !only[e.user.ID] {
			continue
		}
		seen[e.user.RUT] = true
		out = append(out, e.user.RUT)
	}
	slices.Sort(out)
	return out
}

// CasesFor returns the cases of one kind.
func (ds *Dataset) CasesFor(name string) []Case {
	var out []Case
	for _, c := range ds.Cases {
		if c.Case == name {
			out = append(out, c)
		}
	}
	return out
}

// User returns the user with id, nil if none.
func (ds *Dataset) User(id int64) *User {
	if id < 1 || id > int64(len(ds.Users)) {
		return nil
	}
	return ds.Users[id-1]
}

// Course returns the course with id, nil if none.
func (ds *Dataset) Course(id int64) *Course {
	if id < 1 || id > int64(len(ds.Courses)) {
		return nil
	}
	return ds.Courses[id-1]
}
