package demo

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// evDef is the fixed part of a logstore_standard_log row for one event.
type evDef struct {
	name, component, action, target, objecttable, crud string
	edulevel                                           int
	level                                              int // contextlevel: 10 system, 50 course, 70 module
}

// Events as Moodle 4.4 logs them.
var (
	evLogin          = &evDef{`\core\event\user_loggedin`, "core", "loggedin", "user", "user", "r", 0, 10}
	evCourseViewed   = &evDef{`\core\event\course_viewed`, "core", "viewed", "course", "", "r", 2, 50}
	evCompletion     = &evDef{`\core\event\course_module_completion_updated`, "core", "updated", "course_module_completion", "course_modules_completion", "u", 0, 70}
	evCourseComplete = &evDef{`\core\event\course_completed`, "core", "completed", "course", "course_completions", "u", 2, 50}
	evGraderReport   = &evDef{`\gradereport_grader\event\grade_report_viewed`, "gradereport_grader", "viewed", "grade_report", "", "r", 1, 50}
	evQuizStarted    = &evDef{`\mod_quiz\event\attempt_started`, "mod_quiz", "started", "attempt", "quiz_attempts", "c", 2, 70}
	evQuizViewed     = &evDef{`\mod_quiz\event\attempt_viewed`, "mod_quiz", "viewed", "attempt", "quiz_attempts", "r", 2, 70}
	evQuizSubmitted  = &evDef{`\mod_quiz\event\attempt_submitted`, "mod_quiz", "submitted", "attempt", "quiz_attempts", "u", 2, 70}
	evQuizReviewed   = &evDef{`\mod_quiz\event\attempt_reviewed`, "mod_quiz", "reviewed", "attempt", "quiz_attempts", "r", 2, 70}
	evAssignStatus   = &evDef{`\mod_assign\event\submission_status_viewed`, "mod_assign", "viewed", "submission_status", "", "r", 0, 70}
	evAssignForm     = &evDef{`\mod_assign\event\submission_form_viewed`, "mod_assign", "viewed", "submission_form", "", "r", 0, 70}
	evAssignSubmit   = &evDef{`\mod_assign\event\assessable_submitted`, "mod_assign", "submitted", "assessable", "assign_submission", "u", 2, 70}
	evAssignGraded   = &evDef{`\mod_assign\event\submission_graded`, "mod_assign", "graded", "submission", "assign_grades", "u", 1, 70}
	evForumDiscuss   = &evDef{`\mod_forum\event\discussion_viewed`, "mod_forum", "viewed", "discussion", "forum_discussions", "r", 2, 70}
	evForumPost      = &evDef{`\mod_forum\event\post_created`, "mod_forum", "created", "post", "forum_posts", "c", 2, 70}
	evFeedbackSubmit = &evDef{`\mod_feedback\event\response_submitted`, "mod_feedback", "submitted", "response", "feedback_completed", "c", 2, 70}
	evLessonEnded    = &evDef{`\mod_lesson\event\lesson_ended`, "mod_lesson", "ended", "lesson", "lesson_timer", "u", 2, 70}
	evH5PStatement   = &evDef{`\mod_h5pactivity\event\statement_received`, "mod_h5pactivity", "received", "statement", "h5pactivity_attempts", "u", 2, 70}
	evBBBJoined      = &evDef{`\mod_bigbluebuttonbn\event\meeting_joined`, "mod_bigbluebuttonbn", "joined", "meeting", "bigbluebuttonbn", "r", 2, 70}
	evBBBLeft        = &evDef{`\mod_bigbluebuttonbn\event\meeting_left`, "mod_bigbluebuttonbn", "left", "meeting", "bigbluebuttonbn", "r", 2, 70}
	evZoomJoin       = &evDef{`\mod_zoom\event\join_meeting_button_clicked`, "mod_zoom", "clicked", "join_meeting_button", "zoom", "r", 2, 70}

	// evViewed is each module's course_module_viewed event.
	evViewed = func() map[string]*evDef {
		m := map[string]*evDef{}
		for _, n := range moduleNames {
			m[n] = &evDef{`\mod_` + n + `\event\course_module_viewed`, "mod_" + n, "viewed", "course_module", n, "r", 2, 70}
		}
		return m
	}()
)

// event is one log row of a plan.
type event struct {
	t       int64
	def     *evDef
	cm      *Activity // nil for course and system events
	user    int64
	related int64 // 0 = NULL
	object  int64 // 0 = NULL
	other   string
	cli     bool
	comp    *completion // for completion events: the row whose id is objectid
}

type completion struct {
	cm    *Activity
	state int
	t     int64
	id    int64
}

type gradeRow struct {
	item         int64
	final        float64
	null         bool
	raw          bool // a mod item: rawgrade = finalgrade
	rawmin       float64
	rawmax       float64
	t            int64
	usermodified int64 // 0 = NULL
}

type bbbLog struct {
	a    *Activity
	user int64
	t    int64
	log  string
	meta string
}

// zoomPart is a participant row of a Zoom meeting's report.
type zoomPart struct {
	a           *Activity
	user        int64
	join, leave int64
}

type session struct{ start, len int64 }

// plan is everything one user does in one course, generated from the
// enrolment's own random stream so that enrolments can be generated in any
// order and one at a time.
type plan struct {
	events      []event
	completions []*completion
	views       map[*Activity]int64
	grades      []gradeRow
	bbb         []bbbLog
	zoom        []zoomPart
	sessions    []session // block_dedication rows
	started     int64
	completed   int64
}

// counters hand out ids while rows are generated.
type counters struct {
	log, cmc, cmv, grade, ded, bbb, cc int64
	zoom                               int64
	attempt, submission, post, resp    int64
}

// draft is a session being built with times relative to its start; place
// makes them absolute.
type draft struct {
	events  []event
	comps   []*completion
	grades  []*gradeRow
	views   []actTime
	submits []actTime
	rel     int64
}

type actTime struct {
	a *Activity
	t int64
}

func (d *draft) add(def *evDef, cm *Activity, user, related, object int64, other string) *event {
	d.events = append(d.events, event{t: d.rel, def: def, cm: cm, user: user, related: related, object: object, other: other})
	return &d.events[len(d.events)-1]
}

type planner struct {
	ds      *Dataset
	e       *enrolment
	r       *rand.Rand
	ids     *counters
	p       *plan
	uid     int64
	ability float64
	// graded holds the grade of each graded activity done.
	graded map[*Activity]*gradeRow
	// submitted are the assignments handed in, for the teacher to grade.
	submitted []actTime
	// done are the activities completed so far, for revisits.
	done []*Activity
}

func dayOf(clk clock, t int64) int {
	return int(math.Floor(float64(t-clk.base) / day))
}

// studentPlan generates a student's activity in a course.
func (ds *Dataset) studentPlan(e *enrolment, ids *counters) *plan {
	p := &plan{views: map[*Activity]int64{}}
	clk, now := ds.clk, ds.Now
	from, to := e.window(clk)
	if e.profile == pNever || from >= now || to <= from {
		return p
	}
	r := rand.New(rand.NewPCG(ds.Config.Seed, e.seed))
	pl := &planner{ds: ds, e: e, r: r, ids: ids, p: p, uid: e.user.ID, graded: map[*Activity]*gradeRow{}}
	c := e.course
	switch e.profile {
	case pLow:
		pl.ability = 0.30 + 0.40*r.Float64()
	case pMedium:
		pl.ability = 0.45 + 0.45*r.Float64()
	case pHigh:
		pl.ability = 0.65 + 0.33*r.Float64()
	case pComplete:
		pl.ability = 0.88 + 0.12*r.Float64()
	case pPartial:
		pl.ability = 0.35 + 0.25*r.Float64()
	default:
		pl.ability = 0.6
	}

	// How far the course has gone, and how far this student got.
	cStart, cEnd := c.StartDate, c.EndDate
	if cStart == 0 {
		cStart = from
	}
	if cEnd == 0 {
		cEnd = cStart + 75*day
	}
	el := math.Min(1, math.Max(0, float64(to-cStart)/float64(cEnd-cStart)))
	var f float64
	switch e.profile {
	case pLow:
		f = el * (0.10 + 0.30*r.Float64())
	case pMedium:
		f = el * (0.55 + 0.40*r.Float64())
	case pHigh:
		f = math.Min(1, 0.15+el*1.1)
	case pComplete:
		f = 1
	case pPartial:
		f = 0.45
	case pViewer:
		f = el * 0.8
	}

	// The asynchronous activities with completion, in course order;
	// section 0 and live classes are handled apart.
	var acts []*Activity
	var closing *Activity
	for _, s := range c.Sections {
		if s.Number == 0 {
			continue
		}
		for _, a := range s.Activities {
			if a.Completion == 0 || live(a.Module) {
				continue
			}
			if e.profile == pViewer && !viewable(a) {
				continue
			}
			if s.Code == "" && c.SENCE && s == c.Sections[len(c.Sections)-1] {
				closing = a
				continue
			}
			acts = append(acts, a)
		}
	}
	want := int(f*float64(len(acts)) + 0.5)
	var todo []*Activity
	for _, a := range acts {
		if len(todo) >= want {
			break
		}
		if (e.profile == pLow || e.profile == pMedium) && r.IntN(100) < 10 {
			continue // skipped, goes on with the next one
		}
		todo = append(todo, a)
	}
	if closing != nil && len(todo) == len(acts) && (e.profile == pComplete || r.IntN(10) < 7) {
		todo = append(todo, closing)
	}

	// Sessions: how many, on which days.
	factor := map[profile]float64{pLow: 0.4, pMedium: 1.0, pHigh: 1.5, pComplete: 1.5, pViewer: 0.8, pPartial: 0.7}[e.profile]
	budget := float64(ds.Config.LogEventsPerStudent) * factor * (0.8 + 0.4*r.Float64())
	perSession := 12.0
	fromDay, lastDay := dayOf(clk, from), dayOf(clk, to-19*3600)
	if lastDay < fromDay {
		lastDay = fromDay
	}
	nDays := lastDay - fromDay + 1
	nSess := max(1, int(budget/perSession+0.5), (len(todo)+3)/4)
	nSess = min(nSess, 2*nDays)
	days := make([]int, nSess)
	days[0] = fromDay + r.IntN(min(3, nDays))
	for i := 1; i < nSess; i++ {
		days[i] = fromDay + r.IntN(nDays)
	}
	slices.Sort(days)
	// At most two sessions a day: morning and afternoon.
	type slotDay struct {
		day       int
		afternoon bool
	}
	var slotsUsed []slotDay
	for i, d := range days {
		if i > 0 && days[i-1] == d {
			if len(slotsUsed) > 0 && slotsUsed[len(slotsUsed)-1].day == d && !slotsUsed[len(slotsUsed)-1].afternoon {
				slotsUsed = append(slotsUsed, slotDay{d, true})
			}
			continue
		}
		slotsUsed = append(slotsUsed, slotDay{d, false})
	}
	nSess = len(slotsUsed)
	target := max(4, int(budget/float64(nSess)))

	newsForum := c.Sections[0].Activities[0]
	tickNews := newsForum.Completion > 0 && r.Float64() < map[profile]float64{pLow: 0.2, pMedium: 0.4, pHigh: 0.6, pComplete: 1, pViewer: 0.5, pPartial: 0.3}[e.profile]

	next := 0
	for si, sd := range slotsUsed {
		d := &draft{}
		d.add(evLogin, nil, pl.uid, 0, pl.uid, fmt.Sprintf(`{"username":"%s","extrauserinfo":[]}`, jsonEscape(e.user.loginName)))
		d.rel += 3 + r.Int64N(12)
		d.add(evCourseViewed, nil, pl.uid, 0, 0, "")
		if si == 0 && tickNews {
			d.rel += pl.gap()
			d.add(evViewed["forum"], newsForum, pl.uid, 0, newsForum.Instance, "")
			d.rel += 10 + r.Int64N(60)
			pl.complete(d, newsForum, 1)
		}
		end := (si + 1) * len(todo) / nSess
		for ; next < end; next++ {
			d.rel += pl.gap()
			pl.chain(d, todo[next])
		}
		for len(d.events) < target {
			d.rel += pl.gap()
			if len(pl.done) == 0 {
				d.add(evViewed["forum"], newsForum, pl.uid, 0, newsForum.Instance, "")
				continue
			}
			a := pl.done[r.IntN(len(pl.done))]
			d.add(evViewed[a.Module], a, pl.uid, 0, a.Instance, "")
		}
		// Place the session in its half of the day.
		lo, hi := int64(8*3600), int64(13*3600)
		if sd.afternoon {
			lo, hi = 14*3600, 18*3600+1800
		}
		start := clk.at(sd.day, lo)
		if span := hi - lo - d.rel; span > 0 {
			start += r.Int64N(span)
		}
		pl.place(d, start)
	}
	pl.liveClasses(from, to)
	pl.gradeBook()
	pl.courseCompletion()
	p.finish(ids, pl.uid, clk)
	return p
}

// finish orders the rows, gives the completion rows their ids and computes
// the dedication block's sessions.
func (p *plan) finish(ids *counters, uid int64, clk clock) {
	slices.SortStableFunc(p.events, func(a, b event) int { return cmp.Compare(a.t, b.t) })
	slices.SortFunc(p.completions, func(a, b *completion) int { return cmp.Compare(a.cm.CMID, b.cm.CMID) })
	for _, cp := range p.completions {
		ids.cmc++
		cp.id = ids.cmc
	}
	for _, ev := range p.events {
		if ev.user == uid && ev.def.level != 10 {
			p.started = ev.t
			break
		}
	}
	// The block last ran at 01:10 on the report date.
	p.sessions = blockSessions(p.events, uid, clk.at(0, 3600+600))
}

// viewable activities complete by being read: what a student who never
// submits anything still completes.
func viewable(a *Activity) bool {
	switch a.Module {
	case "page", "resource", "book", "url", "h5pactivity", "lesson":
		return true
	}
	return false
}

// gap is the time between two clicks: mostly seconds to minutes, now and
// then a pause longer than SENCE's 45 minutes but shorter than an hour
// (the dedication block's default limit, which would keep the session).
func (pl *planner) gap() int64 {
	if pl.r.IntN(100) < 4 {
		return 2760 + pl.r.Int64N(720)
	}
	return 20 + min(int64(pl.r.ExpFloat64()*150), 1500)
}

// complete records a completion state at the draft's current time.
func (pl *planner) complete(d *draft, a *Activity, state int) *completion {
	cp := &completion{cm: a, state: state, t: d.rel}
	d.comps = append(d.comps, cp)
	pl.completionEvent(d, cp)
	return cp
}

// completionEvent logs a change of a completion row, which Moodle updates
// in place: every event of the row points at the same id.
func (pl *planner) completionEvent(d *draft, cp *completion) {
	ev := d.add(evCompletion, cp.cm, pl.uid, pl.uid, 0, fmt.Sprintf(`{"relateduserid":%d,"overrideby":null,"completionstate":%d}`, pl.uid, cp.state))
	ev.comp = cp
}

// place moves a draft session to its start time and adds it to the plan.
func (pl *planner) place(d *draft, start int64) {
	p := pl.p
	for i := range d.events {
		d.events[i].t += start
	}
	p.events = append(p.events, d.events...)
	for _, cp := range d.comps {
		cp.t += start
	}
	p.completions = append(p.completions, d.comps...)
	for _, g := range d.grades {
		g.t += start
	}
	for _, v := range d.views {
		if t, ok := p.views[v.a]; !ok || v.t+start < t {
			p.views[v.a] = v.t + start
		}
	}
	for _, s := range d.submits {
		pl.submitted = append(pl.submitted, actTime{s.a, s.t + start})
	}
}

// chain is the events of doing one activity.
func (pl *planner) chain(d *draft, a *Activity) {
	r, uid := pl.r, pl.uid
	d.add(evViewed[a.Module], a, uid, 0, a.Instance, "")
	if a.CompletionView {
		d.views = append(d.views, actTime{a, d.rel})
	}
	state := 1
	switch a.Module {
	case "quiz":
		pl.ids.attempt++
		att := pl.ids.attempt
		other := fmt.Sprintf(`{"quizid":%d}`, a.Instance)
		d.rel += 20 + r.Int64N(70)
		d.add(evQuizStarted, a, uid, uid, att, other)
		for range 2 + r.IntN(4) {
			d.rel += 60 + r.Int64N(180)
			d.add(evQuizViewed, a, uid, uid, att, fmt.Sprintf(`{"quizid":%d,"page":%d}`, a.Instance, r.IntN(5)))
		}
		d.rel += 60 + r.Int64N(120)
		d.add(evQuizSubmitted, a, uid, uid, att, fmt.Sprintf(`{"submitterid":%d,"quizid":%d}`, uid, a.Instance))
		if a.GradeItemID != 0 {
			g := pl.ability*10 + r.NormFloat64()*0.8
			if pl.e.profile == pComplete {
				g = math.Max(g, 8.5)
			}
			g = math.Round(math.Min(10, math.Max(0, g))*100) / 100
			state = 2
			if g < a.GradePass {
				state = 3
			}
			gr := &gradeRow{item: a.GradeItemID, final: g, raw: true, rawmax: a.GradeMax, t: d.rel, usermodified: uid}
			pl.graded[a] = gr
			d.grades = append(d.grades, gr)
		}
		pl.complete(d, a, state)
		d.rel += 5 + r.Int64N(25)
		d.add(evQuizReviewed, a, uid, uid, att, other)
	case "assign":
		d.rel += 5 + r.Int64N(15)
		d.add(evAssignStatus, a, uid, 0, 0, fmt.Sprintf(`{"assignid":%d}`, a.Instance))
		d.rel += 30 + r.Int64N(90)
		d.add(evAssignForm, a, uid, 0, 0, fmt.Sprintf(`{"assignid":%d}`, a.Instance))
		d.rel += 300 + r.Int64N(1200)
		pl.ids.submission++
		d.add(evAssignSubmit, a, uid, 0, pl.ids.submission, `{"submission_editable":true}`)
		pl.complete(d, a, 1)
		d.submits = append(d.submits, actTime{a, d.rel})
	case "forum":
		d.rel += 10 + r.Int64N(50)
		disc := a.Instance*10 + 1
		d.add(evForumDiscuss, a, uid, 0, disc, "")
		d.rel += 180 + r.Int64N(420)
		pl.ids.post++
		d.add(evForumPost, a, uid, 0, pl.ids.post, fmt.Sprintf(`{"discussionid":%d,"forumid":%d,"forumtype":"general"}`, disc, a.Instance))
		pl.complete(d, a, 1)
	case "feedback":
		d.rel += 120 + r.Int64N(240)
		pl.ids.resp++
		d.add(evFeedbackSubmit, a, uid, 0, pl.ids.resp, fmt.Sprintf(`{"cmid":%d,"instanceid":%d,"anonymous":1}`, a.CMID, a.Instance))
		pl.complete(d, a, 1)
	case "lesson":
		d.rel += 480 + r.Int64N(720)
		d.add(evLessonEnded, a, uid, 0, a.Instance, "")
		pl.complete(d, a, 1)
	case "h5pactivity":
		d.rel += 60 + r.Int64N(240)
		d.add(evH5PStatement, a, uid, 0, a.Instance, "")
		pl.complete(d, a, 1)
	case "url":
		// Manual completion: ticked after watching; a few untick it.
		d.rel += 20 + r.Int64N(100)
		if pl.e.profile != pComplete && r.IntN(100) < 8 {
			cp := pl.complete(d, a, 1)
			d.rel += 15 + r.Int64N(40)
			cp.state, cp.t = 0, d.rel
			pl.completionEvent(d, cp)
			return
		}
		pl.complete(d, a, 1)
	default: // page, resource, book: complete on view, in the same request
		pl.complete(d, a, 1)
	}
	if state != 3 {
		pl.done = append(pl.done, a)
	}
}

// liveClasses adds the live classes (BigBlueButton, Zoom) the student
// attended.
func (pl *planner) liveClasses(from, to int64) {
	r, uid, now := pl.r, pl.uid, pl.ds.Now
	prob := map[profile]float64{pLow: 0.35, pMedium: 0.7, pHigh: 0.9, pComplete: 1, pViewer: 0.6, pPartial: 0.5}[pl.e.profile]
	if pl.e.attends {
		prob = 1
	}
	for _, a := range pl.e.course.allActivities() {
		if !live(a.Module) || a.Open < from || a.Open >= to || a.Open+a.Duration+1800 >= now {
			continue
		}
		if r.Float64() >= prob {
			continue
		}
		join := a.Open + r.Int64N(600)
		leave := a.Open + a.Duration - r.Int64N(600)
		if pl.e.profile != pComplete && !pl.e.attends && r.IntN(100) < 15 {
			leave = join + 900 + r.Int64N(800) // left early
		}
		summary := a.Open + a.Duration + 300 + r.Int64N(900)
		p := pl.p
		if a.Module == "zoom" {
			// Zoom keeps the meeting outside Moodle: the log has the
			// click on the join button, the plugin's report task the
			// participant's time.
			p.events = append(p.events,
				event{t: join - 90, def: evCourseViewed, user: uid},
				event{t: join - 40, def: evViewed[a.Module], cm: a, user: uid, object: a.Instance},
				event{t: join - 5, def: evZoomJoin, cm: a, user: uid, object: a.Instance},
			)
			p.zoom = append(p.zoom, zoomPart{a: a, user: uid, join: join, leave: leave})
			continue
		}
		p.events = append(p.events,
			event{t: join - 90, def: evCourseViewed, user: uid},
			event{t: join - 40, def: evViewed[a.Module], cm: a, user: uid, object: a.Instance},
			event{t: join, def: evBBBJoined, cm: a, user: uid, object: a.Instance},
		)
		if r.IntN(10) < 7 { // the others closed the tab
			p.events = append(p.events, event{t: leave, def: evBBBLeft, cm: a, user: uid, object: a.Instance})
		}
		dur := leave - join
		p.bbb = append(p.bbb,
			bbbLog{a: a, user: uid, t: join, log: "Join", meta: `{"origin":0}`},
			bbbLog{a: a, user: uid, t: summary, log: "Summary", meta: fmt.Sprintf(`{"data":{"duration":%d,"engagement":{"chats":%d,"talks":%d,"raisehand":%d,"pollvotes":%d,"emojis":%d}}}`,
				dur, r.IntN(6), r.IntN(4), r.IntN(2), r.IntN(3), r.IntN(5))},
		)
		if a.Completion > 0 && dur >= 1800 {
			// Attendance completion is computed by a scheduled task from
			// the meeting summary: a cli event attributed to the student.
			cp := &completion{cm: a, state: 1, t: summary}
			p.completions = append(p.completions, cp)
			p.events = append(p.events, event{t: summary, def: evCompletion, cm: a, user: uid, related: uid, cli: true, comp: cp,
				other: fmt.Sprintf(`{"relateduserid":%d,"overrideby":null,"completionstate":1}`, uid)})
		}
	}
}

// gradeBook has the teacher grade the submitted assignments and computes
// the student's grade rows: activities, module categories, course total.
func (pl *planner) gradeBook() {
	c, r, clk, now, uid := pl.e.course, pl.r, pl.ds.clk, pl.ds.Now, pl.uid
	teacher := int64(2)
	if len(c.teachers) > 0 {
		teacher = c.teachers[0]
	}
	for _, s := range pl.submitted {
		a := s.a
		if a.GradeItemID == 0 {
			continue
		}
		gt := clk.at(dayOf(clk, s.t)+1+r.IntN(6), 10*3600+r.Int64N(7*3600))
		if gt >= now {
			continue // not graded yet
		}
		v := math.Round(math.Min(100, math.Max(10, pl.ability*100+r.NormFloat64()*8)))
		if pl.e.profile == pComplete {
			v = math.Max(v, 85)
		}
		pl.graded[a] = &gradeRow{item: a.GradeItemID, final: v, raw: true, rawmax: a.GradeMax, t: gt, usermodified: teacher}
		pl.ids.submission++
		pl.p.events = append(pl.p.events, event{t: gt, def: evAssignGraded, cm: a, user: teacher, related: uid, object: pl.ids.submission,
			other: fmt.Sprintf(`{"assignid":%d}`, a.Instance)})
	}
	if len(pl.p.events) == 0 {
		return // never came: no grade rows at all
	}
	var rows []gradeRow
	type total struct {
		val, rawmax float64
		null        bool
		t           int64
	}
	// aggregate computes a category total over its activities.
	aggregate := func(acts []*Activity) total {
		var tot total
		n, sum, maxSum, allMax := 0, 0.0, 0.0, 0.0
		for _, a := range acts {
			if a.GradeItemID == 0 || a.Deleting {
				continue
			}
			allMax += a.GradeMax
			g, ok := pl.graded[a]
			if !ok {
				continue
			}
			rows = append(rows, *g)
			n++
			tot.t = max(tot.t, g.t)
			if c.Aggregation == 13 {
				sum += g.final
				maxSum += a.GradeMax
			} else {
				sum += g.final * 100 / a.GradeMax
			}
		}
		switch {
		case n == 0:
			tot.null, tot.rawmax = true, 100
			if c.Aggregation == 13 {
				tot.rawmax = allMax
			}
		case c.Aggregation == 13:
			tot.val, tot.rawmax = sum, maxSum
		default:
			tot.val, tot.rawmax = sum/float64(n), 100
		}
		return tot
	}
	var cats []total
	var rootActs []*Activity
	for _, s := range c.Sections {
		if s.GradeCategoryID == 0 {
			rootActs = append(rootActs, s.Activities...)
			continue
		}
		tot := aggregate(s.Activities)
		cats = append(cats, tot)
		row := gradeRow{item: s.GradeItemID, final: round5(tot.val), null: tot.null, rawmax: tot.rawmax, t: tot.t}
		if c.chilean() {
			// A module category on Chile's 1–7 scale: the mean percentage
			// placed on it.
			row.final, row.rawmin, row.rawmax = round5(1+6*tot.val/100), 1, 7
		}
		rows = append(rows, row)
	}
	if len(rootActs) > 0 {
		cats = append(cats, aggregate(rootActs))
	}
	var course total
	n := 0
	for _, t := range cats {
		if t.null {
			continue
		}
		n++
		course.t = max(course.t, t.t)
		if c.Aggregation == 13 {
			course.val += t.val
			course.rawmax += t.rawmax
		} else {
			course.val += t.val * 100 / t.rawmax
		}
	}
	row := gradeRow{item: c.GradeItemID, rawmin: c.courseMin, rawmax: c.courseMax}
	switch {
	case n == 0:
		row.null = true
	case c.Aggregation == 13:
		row.final, row.rawmax = round5(course.val), course.rawmax
	default:
		row.final = round5(c.courseMin + (c.courseMax-c.courseMin)*course.val/float64(n)/100)
	}
	row.t = course.t
	rows = append(rows, row)
	if g := pl.e.grade; g > 0 {
		// The teacher overrode the course total and every module's total
		// with one grade on the course's 1–7 scale.
		for i := range rows {
			if rows[i].item == c.GradeItemID || slices.ContainsFunc(c.Sections, func(s *Section) bool { return s.GradeItemID == rows[i].item && s.GradeItemID != 0 }) {
				rows[i].final, rows[i].null, rows[i].rawmin, rows[i].rawmax = g, false, 1, 7
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b gradeRow) int { return cmp.Compare(a.item, b.item) })
	pl.p.grades = rows
}

func round5(f float64) float64 { return math.Round(f*1e5) / 1e5 }

// courseCompletion marks the course complete, as Moodle's completion task
// does the night after the last activity was completed.
func (pl *planner) courseCompletion() {
	states := map[*Activity]int{}
	var last int64
	for _, cp := range pl.p.completions {
		states[cp.cm] = cp.state
		last = max(last, cp.t)
	}
	for _, a := range pl.e.course.allActivities() {
		if !a.Mandatory() {
			continue
		}
		if s, ok := states[a]; !ok || s == 0 || s == 3 {
			return
		}
	}
	clk := pl.ds.clk
	tc := clk.at(dayOf(clk, last)+1, 3600+300)
	if tc >= pl.ds.Now {
		return
	}
	pl.p.completed = tc
	pl.p.events = append(pl.p.events, event{t: tc, def: evCourseComplete, user: 2, related: pl.uid, object: 0, cli: true,
		other: fmt.Sprintf(`{"relateduserid":%d}`, pl.uid)})
}

// blockSessions is what block_dedication stores: the user's own web events
// in the course before the block's last run, cut into sessions where two
// clicks are more than 45 minutes apart (the session limit SENCE asks for,
// set in the site's config_plugins); sessions of 120 s or less dropped.
func blockSessions(events []event, uid, cutoff int64) []session {
	var out []session
	start, last := int64(-1), int64(0)
	flush := func() {
		if start >= 0 && last-start > 120 {
			out = append(out, session{start: start, len: last - start})
		}
	}
	for _, ev := range events {
		if ev.user != uid || ev.def.level == 10 || ev.cli || ev.t >= cutoff {
			continue
		}
		if start >= 0 && ev.t-last > blockSessionLimit {
			flush()
			start = -1
		}
		if start < 0 {
			start = ev.t
		}
		last = ev.t
	}
	flush()
	return out
}

// teacherPlan is an editing teacher's work in a course: regular visits and
// the live classes they host.
func (ds *Dataset) teacherPlan(c *Course, uid int64, ids *counters) *plan {
	p := &plan{views: map[*Activity]int64{}}
	clk, now := ds.clk, ds.Now
	r := rand.New(rand.NewPCG(ds.Config.Seed, 1<<63|uint64(c.ID)<<32|uint64(uid)))
	start := c.StartDate
	if start == 0 {
		start = c.timecreated + day
	}
	first, last := dayOf(clk, start)-3, 0
	if c.EndDate > 0 {
		last = min(last, dayOf(clk, c.EndDate))
	}
	var acts []*Activity
	for _, a := range c.allActivities() {
		if a.Module != "label" {
			acts = append(acts, a)
		}
	}
	user := ds.User(uid)
	for d := first; d <= last; d += 2 + r.IntN(3) {
		t := clk.at(d, 9*3600+r.Int64N(3*3600))
		add := func(ev event) {
			ev.t, ev.user = t, uid
			p.events = append(p.events, ev)
			t += 15 + r.Int64N(240)
		}
		add(event{def: evLogin, object: uid, other: fmt.Sprintf(`{"username":"%s","extrauserinfo":[]}`, jsonEscape(user.loginName))})
		add(event{def: evCourseViewed})
		if r.IntN(2) == 0 {
			add(event{def: evGraderReport})
		}
		for range 2 + r.IntN(5) {
			a := acts[r.IntN(len(acts))]
			add(event{def: evViewed[a.Module], cm: a, object: a.Instance})
		}
	}
	if len(c.teachers) > 0 && c.teachers[0] == uid {
		for _, a := range acts {
			if !live(a.Module) || a.Open+a.Duration+1800 >= now || a.Open < start {
				continue
			}
			if a.Module == "zoom" {
				p.events = append(p.events,
					event{t: a.Open - 330, def: evCourseViewed, user: uid},
					event{t: a.Open - 310, def: evViewed[a.Module], cm: a, user: uid, object: a.Instance},
					event{t: a.Open - 240, def: evZoomJoin, cm: a, user: uid, object: a.Instance},
				)
				p.zoom = append(p.zoom, zoomPart{a: a, user: uid, join: a.Open - 240, leave: a.Open + a.Duration})
				continue
			}
			p.events = append(p.events,
				event{t: a.Open - 330, def: evCourseViewed, user: uid},
				event{t: a.Open - 310, def: evViewed[a.Module], cm: a, user: uid, object: a.Instance},
				event{t: a.Open - 240, def: evBBBJoined, cm: a, user: uid, object: a.Instance},
				event{t: a.Open + a.Duration, def: evBBBLeft, cm: a, user: uid, object: a.Instance},
			)
			p.bbb = append(p.bbb,
				bbbLog{a: a, user: uid, t: a.Open - 300, log: "Create", meta: `{"record":true}`},
				bbbLog{a: a, user: uid, t: a.Open - 240, log: "Join", meta: `{"origin":0}`},
				bbbLog{a: a, user: uid, t: a.Open + a.Duration + 300, log: "Summary",
					meta: fmt.Sprintf(`{"data":{"duration":%d,"engagement":{"chats":%d,"talks":%d,"raisehand":0,"pollvotes":0,"emojis":0}}}`, a.Duration+240, r.IntN(10), 5+r.IntN(20))},
			)
		}
	}
	p.finish(ids, uid, clk)
	return p
}

// jsonEscape escapes a string for a JSON string literal.
func jsonEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
