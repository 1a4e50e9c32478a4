package baseline

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/source"
)

// Per-course and per-student queries, as the PHP integrations write them:
// the course's structure and its list of students once, then a few small
// queries for each student, each reaching Moodle's indexes.
const (
	pModules = `SELECT cs.id, cs.section, COALESCE(cs.name, ''),
       COUNT(CASE WHEN cm.completion > 0 THEN 1 END),
       SUM(CASE WHEN m.name IN (:sync) THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.name IN (:sync) THEN 0 WHEN cm.completion > 0 THEN 1 ELSE 0 END)
  FROM mdl_course_sections cs
  LEFT JOIN mdl_course_modules cm ON cm.section = cs.id AND cm.deletioninprogress = 0
  LEFT JOIN mdl_modules m ON m.id = cm.module
 WHERE cs.course = ? AND cs.section > 0
 GROUP BY cs.id, cs.section, cs.name
 ORDER BY cs.section`

	pStudentList = `SELECT DISTINCT ue.userid
  FROM mdl_user_enrolments ue
  JOIN mdl_enrol en ON en.id = ue.enrolid
  JOIN mdl_user u ON u.id = ue.userid AND u.deleted = 0
 WHERE en.courseid = ? AND en.status = 0 AND ue.status = 0
   AND EXISTS (SELECT 1 FROM mdl_role_assignments ra
                 JOIN mdl_context ctx ON ctx.id = ra.contextid
                 JOIN mdl_role r ON r.id = ra.roleid
                WHERE ra.userid = u.id AND ctx.contextlevel = 50
                  AND ctx.instanceid = en.courseid AND r.shortname = 'student')
 ORDER BY ue.userid`

	pDates = `SELECT u.username, u.idnumber, u.firstname, u.lastname,
       MIN(CASE WHEN ue.timestart > 0 THEN ue.timestart END),
       CASE WHEN MAX(CASE WHEN ue.timeend = 0 OR ue.timeend >= 2147483647 THEN 1 ELSE 0 END) = 1
            THEN NULL ELSE MAX(ue.timeend) END
  FROM mdl_user u
  JOIN mdl_user_enrolments ue ON ue.userid = u.id AND ue.status = 0
  JOIN mdl_enrol en ON en.id = ue.enrolid AND en.status = 0
 WHERE u.id = ? AND en.courseid = ?
 GROUP BY u.id, u.username, u.idnumber, u.firstname, u.lastname`

	pCompletion = `SELECT cm.section, COUNT(*)
  FROM mdl_course_modules_completion cmc
  JOIN mdl_course_modules cm ON cm.id = cmc.coursemoduleid
 WHERE cmc.userid = ? AND cm.course = ? AND cm.completion > 0 AND cm.deletioninprogress = 0
   AND cmc.completionstate NOT IN (0, 3)
 GROUP BY cm.section`

	pGrades = `SELECT gi.itemtype,
       CASE WHEN gi.itemtype = 'course' THEN '' ELSE gc.fullname END,
       gg.finalgrade,
       CASE WHEN (gi.calculation IS NULL OR gi.calculation = '') AND gg.rawgrademax > gg.rawgrademin
            THEN gg.rawgrademin ELSE gi.grademin END,
       CASE WHEN (gi.calculation IS NULL OR gi.calculation = '') AND gg.rawgrademax > gg.rawgrademin
            THEN gg.rawgrademax ELSE gi.grademax END
  FROM mdl_grade_items gi
  JOIN mdl_grade_categories gc ON gc.id = gi.iteminstance AND gc.courseid = gi.courseid
  JOIN mdl_grade_grades gg ON gg.itemid = gi.id
 WHERE gg.userid = ? AND gi.courseid = ? AND gi.itemtype IN ('course', 'category')
 ORDER BY gi.sortorder`

	pBlock = `SELECT SUM(timespent) FROM mdl_block_dedication WHERE userid = ? AND courseid = ?`

	pLogEvents = `SELECT l.timecreated
  FROM mdl_logstore_standard_log l
 WHERE l.userid = ? AND l.courseid = ? AND l.anonymous IN (0, 1)
   AND (l.origin IS NULL OR l.origin <> 'cli') AND l.timecreated < ?
 ORDER BY l.timecreated, l.id`

	pModuleLog = `SELECT cm.section, l.timecreated
  FROM mdl_logstore_standard_log l
  JOIN mdl_course_modules cm ON cm.id = l.contextinstanceid
 WHERE l.userid = ? AND l.contextlevel = 70 AND l.courseid = ?
   AND (l.origin IS NULL OR l.origin <> 'cli') AND l.timecreated < ?
 ORDER BY cm.section, l.timecreated, l.id`

	pLive = `SELECT cm.section, bl.meta
  FROM mdl_bigbluebuttonbn_logs bl
  JOIN mdl_modules m ON m.name = 'bigbluebuttonbn'
  JOIN mdl_course_modules cm ON cm.module = m.id AND cm.instance = bl.bigbluebuttonbnid
                           AND cm.course = bl.courseid AND cm.deletioninprogress = 0
 WHERE bl.userid = ? AND bl.courseid = ? AND bl.log = 'Summary' AND bl.timecreated < ?
 ORDER BY bl.id`
)

// pActivities lists one course's mandatory activities and synchronous
// classes with their names.
var pActivities = `SELECT cm.section, cm.id, m.name, COALESCE(` + actNameCols + `'')
  FROM mdl_course_modules cm
  JOIN mdl_modules m ON m.id = cm.module` + actNameJoins + `
 WHERE cm.course = ? AND cm.deletioninprogress = 0 AND (cm.completion > 0 OR m.name IN (:sync))
 ORDER BY cm.section, cm.id`

// PerStudent builds every SENCE course course by course and student by
// student, and calls emit with each course in course id order.
func PerStudent(ctx context.Context, db *source.DB, o *Options, emit func(*Result) error) (Stats, error) {
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
	for _, c := range courses {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		res, n, err := perCourse(ctx, r, o, c)
		if err != nil {
			return st, fmt.Errorf("curso %s: %w", c.code, err)
		}
		st.Courses++
		st.Students += n
		if err := emit(res); err != nil {
			return st, err
		}
	}
	st.Queries, st.Rows = r.queries, r.rows
	return st, nil
}

func perCourse(ctx context.Context, r *reader, o *Options, c *courseRow) (*Result, int, error) {
	var sections []*section
	byID := map[int64]*section{}
	mq, margs := withSync(pModules, o.Params.SyncModules, c.id)
	err := r.each(ctx, mq, margs, func(rows *sql.Rows) error {
		s := &section{}
		var sync, async sql.NullInt64
		if err := rows.Scan(&s.id, &s.num, &s.name, &s.required, &sync, &async); err != nil {
			return err
		}
		s.sync, s.async = sync.Int64, async.Int64
		sections = append(sections, s)
		byID[s.id] = s
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("módulos: %w", err)
	}
	aq, aargs := withSync(pActivities, o.Params.SyncModules)
	err = r.each(ctx, aq, append([]any{c.id}, aargs...), func(rows *sql.Rows) error {
		var sid int64
		var a activity
		if err := rows.Scan(&sid, &a.cmid, &a.modname, &a.name); err != nil {
			return err
		}
		if s := byID[sid]; s != nil {
			s.activities = append(s.activities, a)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("actividades: %w", err)
	}
	var users []int64
	err = r.each(ctx, pStudentList, []any{c.id}, func(rows *sql.Rows) error {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("alumnos: %w", err)
	}
	b := newCourse(o, c, sections)
	for _, u := range users {
		s, err := oneStudent(ctx, r, o, c.id, u)
		if err != nil {
			return nil, 0, fmt.Errorf("alumno %d: %w", u, err)
		}
		b.add(s)
	}
	return b.finish(), len(users), nil
}

// oneStudent reads one student's data with one query per dataset.
func oneStudent(ctx context.Context, r *reader, o *Options, course, user int64) (*student, error) {
	s := &student{userid: user}
	end := o.reportEnd()
	args := []any{user, course}
	err := r.each(ctx, pDates, args, func(rows *sql.Rows) error {
		return rows.Scan(&s.username, &s.idnumber, &s.firstname, &s.lastname, &s.ueStart, &s.ueEnd)
	})
	if err != nil {
		return nil, fmt.Errorf("fechas: %w", err)
	}
	err = r.each(ctx, pCompletion, args, func(rows *sql.Rows) error {
		var sec, n int64
		if err := rows.Scan(&sec, &n); err != nil {
			return err
		}
		if s.done == nil {
			s.done = map[int64]int64{}
		}
		s.done[sec] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finalización: %w", err)
	}
	err = r.each(ctx, pGrades, args, func(rows *sql.Rows) error {
		var g grade
		if err := rows.Scan(&g.itemtype, &g.category, &g.final, &g.min, &g.max); err != nil {
			return err
		}
		s.grades = append(s.grades, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notas: %w", err)
	}
	if o.Params.DedicationSource == "log" {
		acc := &sessionAcc{gap: o.Params.MaxGap, minLen: o.Params.MinSession}
		err = r.each(ctx, pLogEvents, []any{user, course, end}, func(rows *sql.Rows) error {
			var t int64
			if err := rows.Scan(&t); err != nil {
				return err
			}
			acc.add(t)
			return nil
		})
		s.logSessions = acc.result()
	} else {
		err = r.each(ctx, pBlock, args, func(rows *sql.Rows) error {
			var n sql.NullInt64
			err := rows.Scan(&n)
			s.blockSeconds = n.Int64
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("dedicación: %w", err)
	}
	g := &sessionsByKey[int64]{gap: o.Params.MaxGap, minLen: o.Params.MinSession, done: func(sec int64, ss sessions) {
		if s.moduleLog == nil {
			s.moduleLog = map[int64]sessions{}
		}
		s.moduleLog[sec] = ss
	}}
	err = r.each(ctx, pModuleLog, []any{user, course, end}, func(rows *sql.Rows) error {
		var sec, t int64
		if err := rows.Scan(&sec, &t); err != nil {
			return err
		}
		g.add(sec, t)
		return nil
	})
	g.finish()
	if err != nil {
		return nil, fmt.Errorf("registro de módulos: %w", err)
	}
	if !readsLive(&o.Params) {
		return s, nil
	}
	err = r.each(ctx, pLive, []any{user, course, end}, func(rows *sql.Rows) error {
		var sec int64
		var meta sql.NullString
		if err := rows.Scan(&sec, &meta); err != nil {
			return err
		}
		if s.live == nil {
			s.live = map[int64][]string{}
		}
		s.live[sec] = append(s.live[sec], meta.String)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("clases en vivo: %w", err)
	}
	return s, nil
}
