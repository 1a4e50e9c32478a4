-- Reference query q2_completion from the spec (moodle-data.md), unchanged.
WITH students AS (
  SELECT DISTINCT ue.userid
    FROM mdl_user_enrolments ue
    JOIN mdl_enrol en ON en.id = ue.enrolid AND en.courseid = :courseid AND en.status = 0
    JOIN mdl_user u ON u.id = ue.userid AND u.deleted = 0 AND ue.status = 0
    JOIN mdl_role_assignments ra ON ra.userid = ue.userid
    JOIN mdl_context ctx ON ctx.id = ra.contextid AND ctx.contextlevel = 50 AND ctx.instanceid = en.courseid
    JOIN mdl_role r ON r.id = ra.roleid AND r.shortname = 'student'
),
acts AS (
  SELECT cm.id AS cmid, cm.section AS sectionid, cs.section AS sectionnum,
         COALESCE(cs.name, '') AS sectionname, m.name AS modname
    FROM mdl_course_modules cm
    JOIN mdl_modules m ON m.id = cm.module
    JOIN mdl_course_sections cs ON cs.id = cm.section
   WHERE cm.course = :courseid AND cm.completion > 0 AND cm.deletioninprogress = 0
)
SELECT s.userid, a.sectionid, a.sectionnum, a.sectionname,
       COUNT(*) AS n_required,
       SUM(CASE WHEN cmc.completionstate NOT IN (0, 3) THEN 1 ELSE 0 END) AS n_done,
       SUM(CASE WHEN a.modname = 'bigbluebuttonbn' THEN 1 ELSE 0 END) AS n_sync,
       SUM(CASE WHEN a.modname = 'bigbluebuttonbn' AND cmc.completionstate NOT IN (0, 3) THEN 1 ELSE 0 END) AS n_sync_done,
       SUM(CASE WHEN a.modname <> 'bigbluebuttonbn' THEN 1 ELSE 0 END) AS n_async,
       SUM(CASE WHEN a.modname <> 'bigbluebuttonbn' AND cmc.completionstate NOT IN (0, 3) THEN 1 ELSE 0 END) AS n_async_done,
       MAX(cmc.timemodified) AS last_state_change
  FROM students s
 CROSS JOIN acts a
  LEFT JOIN mdl_course_modules_completion cmc
         ON cmc.coursemoduleid = a.cmid AND cmc.userid = s.userid
 GROUP BY s.userid, a.sectionid, a.sectionnum, a.sectionname
 ORDER BY s.userid, a.sectionnum
