package demo

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// emit writes every row of the dataset: the site's structure first, then
// course by course the rows each teacher and student generates.
func (ds *Dataset) emit(o *sqlOut) error {
	ds.emitStatic(o)
	if o.err != nil {
		return o.err
	}
	ids := &counters{}
	for _, c := range ds.Courses {
		for _, uid := range c.teachers {
			ds.emitPlan(o, c, uid, nil, ds.teacherPlan(c, uid, ids), ids)
		}
		for _, e := range ds.enrolments {
			if e.course != c || e.role != roleStudent {
				continue
			}
			ds.emitPlan(o, c, e.user.ID, e, ds.studentPlan(e, ids), ids)
			if o.err != nil {
				return o.err
			}
		}
	}
	return o.flushAll()
}

func (ds *Dataset) emitStatic(o *sqlOut) {
	site := ds.Courses[0]

	w := o.table("modules", "id", "name", "cron", "lastcron", "search", "visible")
	for i, n := range moduleNames {
		visible := 1
		if n == "chat" || n == "survey" { // disabled on new 4.x sites
			visible = 0
		}
		w.row(i+1, n, 0, 0, "", visible)
	}

	// The site's configuration as SENCE's guide asks: dates in Chile's
	// time zone, completion tracking enabled.
	w = o.table("config", "id", "name", "value")
	w.row(1, "timezone", "America/Santiago")
	w.row(2, "forcetimezone", "99")
	w.row(3, "enablecompletion", "1")

	// The dedication block set up as SENCE asks: 45 minutes between clicks
	// (its default is an hour); sessions of two minutes or less ignored.
	w = o.table("config_plugins", "id", "plugin", "name", "value")
	w.row(1, "block_dedication", "ignore_sessions_limit", "120")
	w.row(2, "block_dedication", "session_limit", strconv.Itoa(blockSessionLimit))
	w.row(3, "block_dedication", "version", "2023112000")
	w.row(4, "mod_zoom", "version", "2026041600")

	w = o.table("role", "id", "name", "shortname", "description", "sortorder", "archetype")
	for i, r := range []string{"manager", "coursecreator", "editingteacher", "teacher", "student", "guest", "user", "frontpage"} {
		w.row(i+1, "", r, "", i+1, r)
	}

	w = o.table("context", "id", "contextlevel", "instanceid", "path", "depth", "locked")
	w.row(ctxSystem, 10, 0, "/1", 1, 0)
	w.row(ctxSiteCourse, 50, 1, "/1/2", 2, 0)
	w.row(ctxCategory1, 40, 1, "/1/3", 2, 0)
	w.row(ctxCategory2, 40, 2, "/1/4", 2, 0)
	for _, c := range ds.Courses[1:] {
		cat := ctxCategory1
		if c.category == 2 {
			cat = ctxCategory2
		}
		cpath := fmt.Sprintf("/1/%d/%d", cat, c.ContextID)
		w.row(c.ContextID, 50, c.ID, cpath, 3, 0)
		for _, a := range c.allActivities() {
			w.row(a.ContextID, 70, a.CMID, cpath+"/"+strconv.FormatInt(a.ContextID, 10), 4, 0)
		}
	}

	w = o.table("user", "id", "auth", "confirmed", "policyagreed", "deleted", "suspended", "mnethostid", "username",
		"password", "idnumber", "firstname", "lastname", "email", "phone1", "institution", "city", "country", "lang",
		"calendartype", "timezone", "firstaccess", "lastaccess", "lastlogin", "currentlogin", "lastip", "description",
		"timecreated", "timemodified")
	for _, u := range ds.Users {
		deleted, institution, phone := 0, "", u.phone
		if u.Deleted {
			deleted, phone = 1, ""
		}
		if u.ID > 2 {
			institution = "Capacita Chile OTEC"
		}
		lastlogin := max(u.lastaccess-3*day, u.firstaccess)
		ip := ""
		if u.lastaccess > 0 {
			ip = userIP(u.ID)
		}
		w.row(u.ID, "manual", 1, 0, deleted, 0, 1, u.Username, passwordHash(ds.Config.Seed, u.ID), u.IDNumber,
			u.FirstName, u.LastName, u.Email, phone, institution, u.city, "CL", "es", "gregorian", "99",
			u.firstaccess, u.lastaccess, lastlogin, u.lastaccess, ip, nil, u.timecreated, u.timecreated+3600)
	}

	w = o.table("course", "id", "category", "sortorder", "fullname", "shortname", "idnumber", "summary", "summaryformat",
		"format", "showgrades", "newsitems", "startdate", "enddate", "marker", "maxbytes", "visible", "visibleold",
		"groupmode", "lang", "calendartype", "timecreated", "timemodified", "enablecompletion", "cacherev",
		"showactivitydates", "showcompletionconditions")
	w.row(site.ID, 0, 1, site.Fullname, site.Shortname, "", "", 0, "site", 1, 3, 0, 0, 0, 0, 1, 1, 0, "", "",
		site.timecreated, site.timecreated, 0, site.timecreated, 0, nil)
	for _, c := range ds.Courses[1:] {
		summary := "<p>Curso e-learning con clases sincrónicas. Código SENCE " + c.Shortname + ".</p>"
		if !c.SENCE {
			summary = "<p>Curso interno para docentes nuevos: no es un curso SENCE.</p>"
		}
		w.row(c.ID, c.category, 10000+c.ID, c.Fullname, c.Shortname, c.IDNumber, summary, 1, "topics", 1, 5, c.StartDate,
			c.EndDate, 0, 0, 1, 1, 0, "", "", c.timecreated, c.timecreated+7200, 1, c.timecreated+7200, 1, 1)
	}

	w = o.table("course_sections", "id", "course", "section", "name", "summary", "summaryformat", "sequence",
		"visible", "availability", "timemodified")
	for _, c := range ds.Courses {
		for _, s := range c.Sections {
			seq := make([]string, len(s.Activities))
			for i, a := range s.Activities {
				seq[i] = strconv.FormatInt(a.CMID, 10)
			}
			var name any
			if s.Name != "" {
				name = s.Name
			}
			w.row(s.ID, c.ID, s.Number, name, "", 1, strings.Join(seq, ","), 1, nil, c.timecreated+3600)
		}
	}

	ds.emitActivities(o)

	w = o.table("course_modules", "id", "course", "module", "instance", "section", "idnumber", "added", "score",
		"indent", "visible", "visibleoncoursepage", "visibleold", "groupmode", "groupingid", "completion",
		"completiongradeitemnumber", "completionview", "completionexpected", "completionpassgrade",
		"showdescription", "availability", "deletioninprogress", "downloadcontent", "lang")
	for _, c := range ds.Courses {
		for k, a := range c.allActivities() {
			var gradeNumber any
			passgrade := 0
			if a.Module == "quiz" && a.GradeItemID != 0 {
				gradeNumber, passgrade = 0, 1
			}
			view, deleting := 0, 0
			if a.CompletionView {
				view = 1
			}
			if a.Deleting {
				deleting = 1
			}
			w.row(a.CMID, c.ID, moduleIDs[a.Module], a.Instance, a.section.ID, "", c.timecreated+7200+int64(k)*60,
				0, 0, 1, 1, 1, 0, 0, a.Completion, gradeNumber, view, 0, passgrade, 0, nil, deleting, 1, nil)
		}
	}

	w = o.table("enrol", "id", "enrol", "status", "courseid", "sortorder", "name", "enrolperiod", "enrolstartdate",
		"enrolenddate", "expirynotify", "expirythreshold", "notifyall", "password", "roleid", "customint1",
		"customint2", "customint3", "customint4", "customint5", "customint6", "timecreated", "timemodified")
	for _, c := range ds.Courses[1:] {
		t := c.timecreated
		w.row(c.enrolManual, "manual", 0, c.ID, 0, nil, 0, 0, 0, 0, 86400, 0, nil, roleStudent, nil, nil, nil, nil, nil, nil, t, t)
		w.row(c.enrolGuest, "guest", 1, c.ID, 1, nil, 0, 0, 0, 0, 0, 0, "", 0, nil, nil, nil, nil, nil, nil, t, t)
		w.row(c.enrolSelf, "self", c.selfStatus, c.ID, 2, nil, 0, 0, 0, 0, 86400, 0, nil, roleStudent, 0, 0, 0, 1, 0, 1, t, t+600)
	}

	w = o.table("user_enrolments", "id", "status", "enrolid", "userid", "timestart", "timeend", "modifierid",
		"timecreated", "timemodified")
	ra := o.table("role_assignments", "id", "roleid", "contextid", "userid", "timemodified", "modifierid",
		"component", "itemid", "sortorder")
	var ueID, raID int64
	for _, e := range ds.enrolments {
		first := e.ues[0].created
		for _, u := range e.ues {
			ueID++
			w.row(ueID, u.status, u.enrolID, e.user.ID, u.start, u.end, u.modifier, u.created, u.created)
			first = min(first, u.created)
		}
		raID++
		ra.row(raID, e.role, e.course.ContextID, e.user.ID, first, 2, "", 0, 0)
	}

	ds.emitGroups(o)
	ds.emitCustomFields(o)

	ds.emitGradebook(o)
	ds.emitZoomMeetings(o)
}

// zoomMeetingID is the Zoom meeting id of an activity: 11 digits.
func zoomMeetingID(a *Activity) int64 { return 81000000000 + a.CMID*7919 }

// emitZoomMeetings writes the report of each Zoom meeting already held, as
// the plugin's report task fetches it from Zoom; the participants come
// with each user's plan.
func (ds *Dataset) emitZoomMeetings(o *sqlOut) {
	for _, c := range ds.Courses {
		for _, a := range c.allActivities() {
			if a.zoomDetails == 0 {
				continue
			}
			start, end := a.Open-240, a.Open+a.Duration
			o.table("zoom_meeting_details", "id", "uuid", "meeting_id", "end_time", "start_time", "duration", "topic", "total_minutes", "zoomid").
				row(a.zoomDetails, zoomUUID(ds.Config.Seed, a.CMID), zoomMeetingID(a), end, start, a.Duration/60, a.Name, (end-start)/60, a.Instance)
		}
	}
}

// zoomUUID is a meeting's (or participant's) UUID as Zoom writes them: 22
// characters of base64.
func zoomUUID(seed uint64, id int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("zoom-%d-%d", seed, id)))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[h[i]%64]
	}
	return string(b)
}

// emitGroups writes the courses' Moodle groups and their members.
func (ds *Dataset) emitGroups(o *sqlOut) {
	var memberID int64
	for _, c := range ds.Courses {
		if len(c.Groups) == 0 {
			continue
		}
		w := o.table("groups", "id", "courseid", "idnumber", "name", "description", "descriptionformat", "picture",
			"visibility", "participation", "timecreated", "timemodified")
		m := o.table("groups_members", "id", "groupid", "userid", "timeadded", "component", "itemid")
		t := c.timecreated + 3*3600
		for _, g := range c.Groups {
			w.row(g.ID, c.ID, "", g.Name, nil, 1, 0, 0, 1, t, t)
			for _, u := range g.Members {
				memberID++
				m.row(memberID, g.ID, u, t+600, "", 0)
			}
		}
	}
}

// emitCustomFields writes the site's custom course field for the section
// code ("codigogrupo", a text field in a «Datos SENCE» category) and its
// values, when a course has one.
func (ds *Dataset) emitCustomFields(o *sqlOut) {
	var courses []*Course
	for _, c := range ds.Courses {
		if c.FieldValue != "" {
			courses = append(courses, c)
		}
	}
	if len(courses) == 0 {
		return
	}
	t := ds.Courses[0].timecreated + 86400
	o.table("customfield_category", "id", "name", "description", "descriptionformat", "sortorder", "timecreated",
		"timemodified", "component", "area", "itemid", "contextid").
		row(1, "Datos SENCE", nil, 0, 0, t, t, "core_course", "course", 0, ctxSystem)
	o.table("customfield_field", "id", "shortname", "name", "type", "description", "descriptionformat", "sortorder",
		"categoryid", "configdata", "timecreated", "timemodified").
		row(1, "codigogrupo", "Código de grupo SENCE", "text", nil, 0, 0, 1,
			`{"required":"0","uniquevalues":"0","locked":"0","visibility":"2","defaultvalue":"","displaysize":50,"maxlength":1333,"ispassword":"0","link":""}`, t, t)
	w := o.table("customfield_data", "id", "fieldid", "instanceid", "intvalue", "decvalue", "shortcharvalue", "charvalue",
		"value", "valueformat", "timecreated", "timemodified", "contextid")
	for i, c := range courses {
		w.row(i+1, 1, c.ID, nil, nil, nil, c.FieldValue, c.FieldValue, 0, c.timecreated+3600, c.timecreated+3600, c.ContextID)
	}
}

// emitActivities writes each activity's row in its own table.
func (ds *Dataset) emitActivities(o *sqlOut) {
	type inst struct {
		c *Course
		a *Activity
	}
	byMod := map[string][]inst{}
	for _, c := range ds.Courses {
		for _, a := range c.allActivities() {
			byMod[a.Module] = append(byMod[a.Module], inst{c, a})
		}
	}
	for _, mod := range moduleNames {
		list := byMod[mod]
		if len(list) == 0 {
			continue
		}
		slices.SortFunc(list, func(x, y inst) int { return cmp.Compare(x.a.Instance, y.a.Instance) })
		for _, it := range list {
			c, a := it.c, it.a
			t := c.timecreated + 7200
			intro := "<p>" + a.Name + "</p>"
			switch mod {
			case "label":
				o.table(mod, "id", "course", "name", "intro", "introformat", "timemodified").
					row(a.Instance, c.ID, a.Name, "<h4>"+a.Name+"</h4>", 1, t)
			case "page":
				o.table(mod, "id", "course", "name", "intro", "introformat", "content", "contentformat", "display", "revision", "timemodified").
					row(a.Instance, c.ID, a.Name, intro, 1, "<h3>"+a.Name+"</h3><p>Contenido de la unidad: lea con atención y luego continúe con la actividad siguiente.</p>", 1, 5, 1, t)
			case "resource":
				o.table(mod, "id", "course", "name", "intro", "introformat", "display", "revision", "timemodified").
					row(a.Instance, c.ID, a.Name, intro, 1, 0, 1, t)
			case "url":
				o.table(mod, "id", "course", "name", "intro", "introformat", "externalurl", "display", "timemodified").
					row(a.Instance, c.ID, a.Name, intro, 1, "https://videos.example.com/capacita/"+strconv.FormatInt(a.CMID, 10), 0, t)
			case "book":
				o.table(mod, "id", "course", "name", "intro", "introformat", "numbering", "revision", "timecreated", "timemodified").
					row(a.Instance, c.ID, a.Name, intro, 1, 1, 1, t, t)
			case "h5pactivity":
				o.table(mod, "id", "course", "name", "timecreated", "timemodified", "intro", "introformat", "grade", "enabletracking").
					row(a.Instance, c.ID, a.Name, t, t, intro, 1, 0, 1)
			case "lesson":
				o.table(mod, "id", "course", "name", "intro", "introformat", "grade", "timemodified", "completionendreached").
					row(a.Instance, c.ID, a.Name, intro, 1, 0, t, 1)
			case "feedback":
				o.table(mod, "id", "course", "name", "intro", "introformat", "anonymous", "page_after_submit", "timemodified", "completionsubmit").
					row(a.Instance, c.ID, a.Name, intro, 1, 1, "<p>¡Gracias por responder!</p>", t, 1)
			case "forum":
				typ, subscribe, posts := "general", 0, 1
				if a.extra == "news" || a.extra == "news-completion" {
					typ, subscribe, posts = "news", 1, 0
				}
				o.table(mod, "id", "course", "type", "name", "intro", "introformat", "forcesubscribe", "trackingtype", "timemodified", "completionposts").
					row(a.Instance, c.ID, typ, a.Name, intro, 1, subscribe, 1, t, posts)
			case "quiz":
				o.table(mod, "id", "course", "name", "intro", "introformat", "timeopen", "timeclose", "timelimit",
					"preferredbehaviour", "attempts", "grademethod", "questionsperpage", "sumgrades", "grade", "timecreated", "timemodified").
					row(a.Instance, c.ID, a.Name, intro, 1, 0, 0, 1800, "deferredfeedback", 0, 1, 1, 10.0, max(a.GradeMax, 10), t, t)
			case "assign":
				o.table(mod, "id", "course", "name", "intro", "introformat", "alwaysshowdescription", "duedate",
					"allowsubmissionsfromdate", "grade", "timemodified", "completionsubmit", "gradingduedate").
					row(a.Instance, c.ID, a.Name, intro, 1, 1, 0, c.StartDate, int64(a.GradeMax), t, 1, 0)
			case "bigbluebuttonbn":
				o.table(mod, "id", "type", "course", "name", "intro", "introformat", "meetingid", "moderatorpass",
					"viewerpass", "wait", "record", "openingtime", "closingtime", "timecreated", "timemodified",
					"participants", "completionattendance").
					row(a.Instance, 0, c.ID, a.Name, intro, 1, ds.meetingID(a), ds.secret(a.CMID, 1), ds.secret(a.CMID, 2), 0, 1,
						a.Open-900, a.Open+3*3600, t, t, `[{"selectiontype":"all","selectionid":"all","role":"viewer"}]`, 30)
			case "zoom":
				o.table(mod, "id", "course", "intro", "introformat", "grade", "meeting_id", "join_url", "created_at", "host_id",
					"name", "start_time", "timemodified", "recurring", "webinar", "duration", "timezone", "exists_on_zoom").
					row(a.Instance, c.ID, intro, 1, 0, zoomMeetingID(a), "https://us02web.zoom.us/j/"+strconv.FormatInt(zoomMeetingID(a), 10),
						"2026-01-01T00:00:00Z", "zH0st"+strconv.FormatInt(c.ID, 10), a.Name, a.Open, t, 0, 0, a.Duration, "America/Santiago", 1)
			default:
				panic("demo: no table writer for module " + mod)
			}
		}
	}
}

// emitGradebook writes the grade categories and items.
func (ds *Dataset) emitGradebook(o *sqlOut) {
	cw := o.table("grade_categories", "id", "courseid", "parent", "depth", "path", "fullname", "aggregation",
		"keephigh", "droplow", "aggregateonlygraded", "aggregateoutcomes", "timecreated", "timemodified", "hidden")
	iw := o.table("grade_items", "id", "courseid", "categoryid", "itemname", "itemtype", "itemmodule", "iteminstance",
		"itemnumber", "gradetype", "grademax", "grademin", "gradepass", "multfactor", "plusfactor", "aggregationcoef",
		"aggregationcoef2", "sortorder", "hidden", "locked", "locktime", "needsupdate", "weightoverride",
		"timecreated", "timemodified")
	for _, c := range ds.Courses[1:] {
		t := c.timecreated + 7200
		root := c.GradeCategoryID
		cw.row(root, c.ID, nil, 1, fmt.Sprintf("/%d/", root), "?", c.Aggregation, 0, 0, 1, 0, t, t, 0)
		for _, s := range c.Sections {
			if s.GradeCategoryID != 0 {
				cw.row(s.GradeCategoryID, c.ID, root, 2, fmt.Sprintf("/%d/%d/", root, s.GradeCategoryID), s.Code, c.Aggregation, 0, 0, 1, 0, t, t, 0)
			}
		}
		total, courseMax := 0.0, c.courseMax
		if c.Aggregation == 13 {
			for _, a := range c.allActivities() {
				if a.GradeItemID != 0 && !a.Deleting {
					total += a.GradeMax
				}
			}
			courseMax = total
		}
		pass := c.courseMin + (c.courseMax-c.courseMin)*0.6
		if c.Aggregation == 13 {
			pass = 0
		}
		sort := 1
		iw.row(c.GradeItemID, c.ID, nil, nil, "course", nil, root, nil, 1, courseMax, c.courseMin, pass, 1.0, 0.0, 0.0, 0.0, sort, 0, 0, 0, 0, 0, t, t)
		for _, s := range c.Sections {
			cat := s.GradeCategoryID
			if cat == 0 {
				cat = root
			}
			catMax := 0.0
			for _, a := range s.Activities {
				if a.GradeItemID == 0 {
					continue
				}
				sort++
				catMax += a.GradeMax
				iw.row(a.GradeItemID, c.ID, cat, a.Name, "mod", a.Module, a.Instance, 0, 1, a.GradeMax, 0.0, a.GradePass, 1.0, 0.0, 0.0, 0.0, sort, 0, 0, 0, 0, 0, t, t)
			}
			if s.GradeItemID != 0 {
				sort++
				catMin := 0.0
				if c.Aggregation != 13 {
					catMax = 100
				}
				if c.chilean() {
					catMin, catMax = 1, 7
				}
				iw.row(s.GradeItemID, c.ID, nil, nil, "category", nil, s.GradeCategoryID, nil, 1, catMax, catMin, 0.0, 1.0, 0.0, 0.0, 0.0, sort, 0, 0, 0, 0, 0, t, t)
			}
		}
	}
}

// emitPlan writes what one user did in a course; e is nil for teachers.
func (ds *Dataset) emitPlan(o *sqlOut, c *Course, uid int64, e *enrolment, p *plan, ids *counters) {
	lw := o.table("logstore_standard_log", "id", "eventname", "component", "action", "target", "objecttable",
		"objectid", "crud", "edulevel", "contextid", "contextlevel", "contextinstanceid", "userid", "courseid",
		"relateduserid", "anonymous", "other", "timecreated", "origin", "ip", "realuserid")
	for i := range p.events {
		ev := &p.events[i]
		ids.log++
		lw.begin()
		lw.i(ids.log)
		lw.s(ev.def.name)
		lw.s(ev.def.component)
		lw.s(ev.def.action)
		lw.s(ev.def.target)
		lw.sn(ev.def.objecttable)
		if ev.comp != nil {
			lw.i(ev.comp.id)
		} else {
			lw.in(ev.object)
		}
		lw.s(ev.def.crud)
		lw.i(int64(ev.def.edulevel))
		switch ev.def.level {
		case 10:
			lw.i(ctxSystem)
			lw.i(10)
			lw.i(0)
		case 50:
			lw.i(c.ContextID)
			lw.i(50)
			lw.i(c.ID)
		default:
			lw.i(ev.cm.ContextID)
			lw.i(70)
			lw.i(ev.cm.CMID)
		}
		lw.i(ev.user)
		if ev.def.level == 10 {
			lw.i(0)
		} else {
			lw.i(c.ID)
		}
		lw.in(ev.related)
		lw.i(0)
		if ev.other == "" {
			lw.s("null")
		} else {
			lw.s(ev.other)
		}
		lw.i(ev.t)
		if ev.cli {
			lw.s("cli")
			lw.n()
		} else {
			lw.s("web")
			lw.s(userIP(ev.user))
		}
		lw.n()
		lw.end()
	}

	if e != nil {
		cw := o.table("course_modules_completion", "id", "coursemoduleid", "userid", "completionstate", "overrideby", "timemodified")
		for _, cp := range p.completions {
			cw.begin()
			cw.i(cp.id)
			cw.i(cp.cm.CMID)
			cw.i(e.user.ID)
			cw.i(int64(cp.state))
			cw.n()
			cw.i(cp.t)
			cw.end()
		}
		vw := o.table("course_modules_viewed", "id", "coursemoduleid", "userid", "timecreated")
		viewed := make([]*Activity, 0, len(p.views))
		for a := range p.views {
			viewed = append(viewed, a)
		}
		slices.SortFunc(viewed, func(x, y *Activity) int { return cmp.Compare(x.CMID, y.CMID) })
		for _, a := range viewed {
			ids.cmv++
			vw.begin()
			vw.i(ids.cmv)
			vw.i(a.CMID)
			vw.i(e.user.ID)
			vw.i(p.views[a])
			vw.end()
		}
		gw := o.table("grade_grades", "id", "itemid", "userid", "rawgrade", "rawgrademax", "rawgrademin", "usermodified",
			"finalgrade", "hidden", "locked", "locktime", "exported", "overridden", "excluded", "feedbackformat",
			"informationformat", "timecreated", "timemodified", "aggregationstatus")
		for _, g := range p.grades {
			ids.grade++
			gw.begin()
			gw.i(ids.grade)
			gw.i(g.item)
			gw.i(e.user.ID)
			if g.raw {
				gw.f(g.final)
			} else {
				gw.n()
			}
			gw.f(g.rawmax)
			gw.f(g.rawmin)
			gw.in(g.usermodified)
			if g.null {
				gw.n()
			} else {
				gw.f(g.final)
			}
			for range 8 { // hidden … excluded, feedbackformat, informationformat
				gw.i(0)
			}
			gw.in(g.t)
			gw.in(g.t)
			if g.raw {
				gw.s("used")
			} else {
				gw.s("unknown")
			}
			gw.end()
		}
	}

	dw := o.table("block_dedication", "id", "userid", "courseid", "timespent", "timestart")
	for _, s := range p.sessions {
		ids.ded++
		dw.begin()
		dw.i(ids.ded)
		dw.i(uid)
		dw.i(c.ID)
		dw.i(s.len)
		dw.i(s.start)
		dw.end()
	}

	bw := o.table("bigbluebuttonbn_logs", "id", "courseid", "bigbluebuttonbnid", "userid", "timecreated", "meetingid", "log", "meta")
	slices.SortStableFunc(p.bbb, func(x, y bbbLog) int { return cmp.Compare(x.t, y.t) })
	for _, b := range p.bbb {
		ids.bbb++
		bw.begin()
		bw.i(ids.bbb)
		bw.i(c.ID)
		bw.i(b.a.Instance)
		bw.i(b.user)
		bw.i(b.t)
		bw.s(ds.meetingID(b.a) + "-" + strconv.FormatInt(c.ID, 10) + "-" + strconv.FormatInt(b.a.Instance, 10))
		bw.s(b.log)
		bw.s(b.meta)
		bw.end()
	}

	zw := o.table("zoom_meeting_participants", "id", "userid", "zoomuserid", "uuid", "user_email", "join_time", "leave_time",
		"duration", "name", "detailsid")
	for _, z := range p.zoom {
		if z.a.zoomDetails == 0 {
			continue // the meeting's report is not in yet
		}
		ids.zoom++
		u := ds.User(z.user)
		zw.begin()
		zw.i(ids.zoom)
		zw.i(z.user)
		zw.s(zoomUUID(ds.Config.Seed, -z.user)[:16])
		zw.s(zoomUUID(ds.Config.Seed, z.a.CMID<<20|z.user))
		zw.s(u.Email)
		zw.i(z.join)
		zw.i(z.leave)
		zw.i(z.leave - z.join)
		zw.s(u.FirstName + " " + u.LastName)
		zw.i(z.a.zoomDetails)
		zw.end()
	}

	if e != nil {
		ccw := o.table("course_completions", "id", "userid", "course", "timeenrolled", "timestarted", "timecompleted", "reaggregate")
		ids.cc++
		enrolled := int64(0)
		for _, u := range e.ues {
			if u.start > 0 && (enrolled == 0 || u.start < enrolled) {
				enrolled = u.start
			}
		}
		ccw.begin()
		ccw.i(ids.cc)
		ccw.i(e.user.ID)
		ccw.i(c.ID)
		ccw.i(enrolled)
		ccw.i(p.started)
		ccw.in(p.completed)
		ccw.i(0)
		ccw.end()
	}
}

// userIPs are the users' addresses, from the documentation ranges.
var userIPs = func() []string {
	nets := [...]string{"192.0.2.", "198.51.100.", "203.0.113."}
	var out []string
	for _, n := range nets {
		for h := 1; h <= 250; h++ {
			out = append(out, n+strconv.Itoa(h))
		}
	}
	return out
}()

func userIP(uid int64) string { return userIPs[uid%int64(len(userIPs))] }

// meetingID is the BigBlueButton meeting id of an activity: 40 hex digits,
// as the plugin makes them.
func (ds *Dataset) meetingID(a *Activity) string {
	h := sha1.Sum([]byte(fmt.Sprintf("meeting-%d-%d", ds.Config.Seed, a.CMID)))
	return hex.EncodeToString(h[:])
}

func (ds *Dataset) secret(id int64, k uint64) string {
	r := rand.New(rand.NewPCG(ds.Config.Seed^k, uint64(id)))
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// passwordHash is a stand-in for Moodle's bcrypt hash: same shape, no
// password behind it.
func passwordHash(seed uint64, uid int64) string {
	r := rand.New(rand.NewPCG(seed, uint64(uid)<<8|0x70))
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("$2y$10$")
	for range 53 {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}
