-- Reference query q1_students from the spec (moodle-data.md), unchanged.
SELECT u.id AS userid,
       u.username,
       u.idnumber,
       UPPER(REPLACE(REPLACE(TRIM(CASE WHEN u.idnumber <> '' THEN u.idnumber ELSE u.username END), '.', ''), ' ', '')) AS rut,
       u.firstname, u.lastname, u.email,
       c.shortname AS sence_code,
       e.ue_start, e.ue_end,
       COALESCE(e.ue_start, NULLIF(c.startdate, 0)) AS date_start,
       COALESCE(e.ue_end, NULLIF(c.enddate, 0)) AS date_end
FROM (SELECT ue.userid,
             MIN(CASE WHEN ue.timestart > 0 THEN ue.timestart END) AS ue_start,
             CASE WHEN MAX(CASE WHEN ue.timeend = 0 OR ue.timeend >= 2147483647 THEN 1 ELSE 0 END) = 1
                  THEN NULL ELSE MAX(ue.timeend) END AS ue_end
        FROM mdl_user_enrolments ue
        JOIN mdl_enrol en ON en.id = ue.enrolid
       WHERE en.courseid = :courseid AND en.status = 0 AND ue.status = 0
       GROUP BY ue.userid) e
JOIN mdl_course c ON c.id = :courseid
JOIN mdl_user u ON u.id = e.userid AND u.deleted = 0
WHERE EXISTS (SELECT 1
                FROM mdl_role_assignments ra
                JOIN mdl_context ctx ON ctx.id = ra.contextid
                JOIN mdl_role r ON r.id = ra.roleid
               WHERE ra.userid = u.id AND ctx.contextlevel = 50
                 AND ctx.instanceid = c.id AND r.shortname = 'student')
ORDER BY u.id
