package baseline

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/source"
)

// Stats count what a baseline did.
type Stats struct {
	Queries  int
	Rows     int64
	Courses  int
	Students int
}

// Set-based queries: the preset's, over a batch of courses ("%s" is the
// list of course ids).
const (
	qStudents = `SELECT e.courseid, u.id, u.username, u.idnumber, u.firstname, u.lastname, e.ue_start, e.ue_end
  FROM (SELECT en.courseid, ue.userid,
               MIN(CASE WHEN ue.timestart > 0 THEN ue.timestart END) AS ue_start,
               CASE WHEN MAX(CASE WHEN ue.timeend = 0 OR ue.timeend >= 2147483647 THEN 1 ELSE 0 END) = 1
                    THEN NULL ELSE MAX(ue.timeend) END AS ue_end
          FROM mdl_user_enrolments ue
          JOIN mdl_enrol en ON en.id = ue.enrolid
         WHERE en.courseid IN (%s) AND en.status = 0 AND ue.status = 0
         GROUP BY en.courseid, ue.userid) e
  JOIN mdl_user u ON u.id = e.userid AND u.deleted = 0
 WHERE EXISTS (SELECT 1 FROM mdl_role_assignments ra
                 JOIN mdl_context ctx ON ctx.id = ra.contextid
                 JOIN mdl_role r ON r.id = ra.roleid
                WHERE ra.userid = u.id AND ctx.contextlevel = 50
                  AND ctx.instanceid = e.courseid AND r.shortname = 'student')
 ORDER BY e.courseid, u.id`

	qGrades = `SELECT gi.courseid, gg.userid, gi.itemtype,
       CASE WHEN gi.itemtype = 'course' THEN '' ELSE gc.fullname END,
       gg.finalgrade,
       CASE WHEN (gi.calculation IS NULL OR gi.calculation = '') AND gg.rawgrademax > gg.rawgrademin
            THEN gg.rawgrademin ELSE gi.grademin END,
       CASE WHEN (gi.calculation IS NULL OR gi.calculation = '') AND gg.rawgrademax > gg.rawgrademin
            THEN gg.rawgrademax ELSE gi.grademax END
  FROM mdl_grade_items gi
  JOIN mdl_grade_categories gc ON gc.id = gi.iteminstance AND gc.courseid = gi.courseid
  JOIN mdl_grade_grades gg ON gg.itemid = gi.id
 WHERE gi.courseid IN (%s) AND gi.itemtype IN ('course', 'category')
 ORDER BY gi.courseid, gg.userid, gi.sortorder`

	qBlock = `SELECT d.courseid, d.userid, SUM(d.timespent)
  FROM mdl_block_dedication d WHERE d.courseid IN (%s) GROUP BY d.courseid, d.userid`

	qLogEvents = `SELECT l.courseid, l.userid, l.timecreated
  FROM mdl_logstore_standard_log l
 WHERE l.courseid IN (%s) AND l.anonymous IN (0, 1) AND l.userid > 0
   AND (l.origin IS NULL OR l.origin <> 'cli') AND l.timecreated < ?
 ORDER BY l.courseid, l.userid, l.timecreated, l.id`

	qModules = `SELECT cs.course, cs.id, cs.section, COALESCE(cs.name, ''),
       COUNT(CASE WHEN cm.completion > 0 THEN 1 END),
       SUM(CASE WHEN m.name IN (:sync) THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.name IN (:sync) THEN 0 WHEN cm.completion > 0 THEN 1 ELSE 0 END)
  FROM mdl_course_sections cs
  LEFT JOIN mdl_course_modules cm ON cm.section = cs.id AND cm.deletioninprogress = 0
  LEFT JOIN mdl_modules m ON m.id = cm.module
 WHERE cs.course IN (%s) AND cs.section > 0
 GROUP BY cs.course, cs.id, cs.section, cs.name
 ORDER BY cs.course, cs.section`

	qCompletion = `SELECT cm.course, cmc.userid, cm.section, COUNT(*)
  FROM mdl_course_modules_completion cmc
  JOIN mdl_course_modules cm ON cm.id = cmc.coursemoduleid
 WHERE cm.course IN (%s) AND cm.completion > 0 AND cm.deletioninprogress = 0
   AND cmc.completionstate NOT IN (0, 3)
 GROUP BY cm.course, cmc.userid, cm.section`

	qModuleLog = `SELECT l.courseid, l.userid, cm.section, l.timecreated
  FROM mdl_logstore_standard_log l
  JOIN mdl_course_modules cm ON cm.id = l.contextinstanceid
 WHERE l.courseid IN (%s) AND l.anonymous IN (0, 1) AND l.contextlevel = 70
   AND l.userid > 0 AND (l.origin IS NULL OR l.origin <> 'cli') AND l.timecreated < ?
 ORDER BY l.courseid, l.userid, cm.section, l.timecreated, l.id`

	qLive = `SELECT bl.courseid, bl.userid, cm.section, bl.meta
  FROM mdl_bigbluebuttonbn_logs bl
  JOIN mdl_modules m ON m.name = 'bigbluebuttonbn'
  JOIN mdl_course_modules cm ON cm.module = m.id AND cm.instance = bl.bigbluebuttonbnid
                           AND cm.course = bl.courseid AND cm.deletioninprogress = 0
 WHERE bl.courseid IN (%s) AND bl.log = 'Summary' AND bl.userid IS NOT NULL AND bl.timecreated < ?
 ORDER BY bl.courseid, bl.userid, bl.id`
)

// qActivities lists the mandatory activities and the synchronous classes
// with their names.
var qActivities = `SELECT cm.course, cm.section, cm.id, m.name, COALESCE(` + actNameCols + `'')
  FROM mdl_course_modules cm
  JOIN mdl_modules m ON m.id = cm.module` + actNameJoins + `
 WHERE cm.course IN (%s) AND cm.deletioninprogress = 0 AND (cm.completion > 0 OR m.name IN (:sync))
 ORDER BY cm.course, cm.section, cm.id`

// withSync writes the synchronous module types where q says :sync, one
// placeholder each (NULL for none), and returns their arguments in order,
// followed by rest.
func withSync(q string, sync []string, rest ...any) (string, []any) {
	marks := "NULL"
	if len(sync) > 0 {
		marks = strings.TrimSuffix(strings.Repeat("?, ", len(sync)), ", ")
	}
	var args []any
	for range strings.Count(q, ":sync") {
		for _, m := range sync {
			args = append(args, m)
		}
	}
	return strings.ReplaceAll(q, ":sync", marks), append(args, rest...)
}

// readsLive reports whether the preset reads BigBlueButton's attendance.
func readsLive(p *Params) bool { return slices.Contains(p.SyncModules, "bigbluebuttonbn") }

var actNameCols, actNameJoins = activityNameSQL()

func activityNameSQL() (cols, joins string) {
	mods := []string{"assign", "quiz", "resource", "url", "page", "forum", "book", "folder", "lesson", "feedback", "choice",
		"scorm", "h5pactivity", "label", "glossary", "wiki", "workshop", "data", "lti", "chat", "survey", "imscp", "bigbluebuttonbn"}
	var c, j strings.Builder
	for i, m := range mods {
		a := fmt.Sprintf("a%d", i)
		c.WriteString(a + ".name, ")
		j.WriteString("\n  LEFT JOIN mdl_" + m + " " + a + " ON m.name = '" + m + "' AND " + a + ".id = cm.instance")
	}
	return c.String(), j.String()
}

// liveRow files a BigBlueButton meeting summary under its student and
// section.
func liveRow(byKey map[key2]*student) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var k key3
		var meta sql.NullString
		if err := rows.Scan(&k.course, &k.user, &k.section, &meta); err != nil {
			return err
		}
		if s := byKey[key2{k.course, k.user}]; s != nil {
			if s.live == nil {
				s.live = map[int64][]string{}
			}
			s.live[k.section] = append(s.live[k.section], meta.String)
		}
		return nil
	}
}

// key2 and key3 identify a student and a student's module.
type key2 struct{ course, user int64 }
type key3 struct{ course, user, section int64 }

// SetBased builds every SENCE course with one query per dataset and batch
// of courses, and calls emit with each course in course id order.
func SetBased(ctx context.Context, db *source.DB, o *Options, emit func(*Result) error) (Stats, error) {
	var st Stats
	r, err := newReader(ctx, db, o.Prefix)
	if err != nil {
		return st, err
	}
	defer r.close()
	courses, err := r.courses(ctx, &o.Params)
	if err != nil {
		return st, err
	}
	size := max(o.BatchSize, 1)
	for start := 0; start < len(courses); start += size {
		batch := courses[start:min(start+size, len(courses))]
		if err := setBatch(ctx, r, o, batch, emit, &st); err != nil {
			return st, err
		}
	}
	st.Queries, st.Rows = r.queries, r.rows
	return st, nil
}

func setBatch(ctx context.Context, r *reader, o *Options, batch []*courseRow, emit func(*Result) error, st *Stats) error {
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = c.id
	}
	in := idList(ids)
	q := func(text string) string { return fmt.Sprintf(text, in) }
	end := o.reportEnd()

	students := map[int64][]*student{}
	byKey := map[key2]*student{}
	err := r.each(ctx, q(qStudents), nil, func(rows *sql.Rows) error {
		var cid int64
		s := &student{}
		if err := rows.Scan(&cid, &s.userid, &s.username, &s.idnumber, &s.firstname, &s.lastname, &s.ueStart, &s.ueEnd); err != nil {
			return err
		}
		students[cid] = append(students[cid], s)
		byKey[key2{cid, s.userid}] = s
		return nil
	})
	if err != nil {
		return fmt.Errorf("students: %w", err)
	}
	err = r.each(ctx, q(qGrades), nil, func(rows *sql.Rows) error {
		var k key2
		var g grade
		if err := rows.Scan(&k.course, &k.user, &g.itemtype, &g.category, &g.final, &g.min, &g.max); err != nil {
			return err
		}
		if s := byKey[k]; s != nil {
			s.grades = append(s.grades, g)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("grades: %w", err)
	}
	if o.Params.DedicationSource == "log" {
		g := &sessionsByKey[key2]{gap: o.Params.MaxGap, minLen: o.Params.MinSession, done: func(k key2, ss sessions) {
			if s := byKey[k]; s != nil {
				s.logSessions = ss
			}
		}}
		err = r.each(ctx, q(qLogEvents), []any{end}, func(rows *sql.Rows) error {
			var k key2
			var t int64
			if err := rows.Scan(&k.course, &k.user, &t); err != nil {
				return err
			}
			g.add(k, t)
			return nil
		})
		g.finish()
	} else {
		err = r.each(ctx, q(qBlock), nil, func(rows *sql.Rows) error {
			var k key2
			var n sql.NullInt64
			if err := rows.Scan(&k.course, &k.user, &n); err != nil {
				return err
			}
			if s := byKey[k]; s != nil {
				s.blockSeconds = n.Int64
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("dedication: %w", err)
	}
	sections := map[int64][]*section{}
	sectionByID := map[int64]*section{}
	mq, margs := withSync(q(qModules), o.Params.SyncModules)
	err = r.each(ctx, mq, margs, func(rows *sql.Rows) error {
		var cid int64
		var sync, async sql.NullInt64
		s := &section{}
		if err := rows.Scan(&cid, &s.id, &s.num, &s.name, &s.required, &sync, &async); err != nil {
			return err
		}
		s.sync, s.async = sync.Int64, async.Int64
		sections[cid] = append(sections[cid], s)
		sectionByID[s.id] = s
		return nil
	})
	if err != nil {
		return fmt.Errorf("modules: %w", err)
	}
	err = r.each(ctx, q(qCompletion), nil, func(rows *sql.Rows) error {
		var k key3
		var n int64
		if err := rows.Scan(&k.course, &k.user, &k.section, &n); err != nil {
			return err
		}
		if s := byKey[key2{k.course, k.user}]; s != nil {
			if s.done == nil {
				s.done = map[int64]int64{}
			}
			s.done[k.section] = n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	g := &sessionsByKey[key3]{gap: o.Params.MaxGap, minLen: o.Params.MinSession, done: func(k key3, ss sessions) {
		if s := byKey[key2{k.course, k.user}]; s != nil {
			if s.moduleLog == nil {
				s.moduleLog = map[int64]sessions{}
			}
			s.moduleLog[k.section] = ss
		}
	}}
	err = r.each(ctx, q(qModuleLog), []any{end}, func(rows *sql.Rows) error {
		var k key3
		var t int64
		if err := rows.Scan(&k.course, &k.user, &k.section, &t); err != nil {
			return err
		}
		g.add(k, t)
		return nil
	})
	g.finish()
	if err != nil {
		return fmt.Errorf("module log: %w", err)
	}
	if !readsLive(&o.Params) {
		err = nil
	} else {
		err = r.each(ctx, q(qLive), []any{end}, liveRow(byKey))
	}
	if err != nil {
		return fmt.Errorf("live classes: %w", err)
	}
	aq, aargs := withSync(q(qActivities), o.Params.SyncModules)
	err = r.each(ctx, aq, aargs, func(rows *sql.Rows) error {
		var cid, sid int64
		var a activity
		if err := rows.Scan(&cid, &sid, &a.cmid, &a.modname, &a.name); err != nil {
			return err
		}
		if s := sectionByID[sid]; s != nil {
			s.activities = append(s.activities, a)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("activities: %w", err)
	}

	for _, c := range batch {
		b := newCourse(o, c, sections[c.id])
		for _, s := range students[c.id] {
			st.Students++
			b.add(s)
		}
		st.Courses++
		if err := emit(b.finish()); err != nil {
			return err
		}
	}
	return nil
}
