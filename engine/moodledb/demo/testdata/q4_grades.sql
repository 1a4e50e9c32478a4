-- Reference query q4_grades from the spec (moodle-data.md), unchanged.
SELECT gg.userid, gi.id AS itemid, gi.itemtype,
       CASE WHEN gi.itemtype = 'course' THEN 'COURSE TOTAL' ELSE gc.fullname END AS category,
       gg.finalgrade,
       CASE WHEN gg.finalgrade IS NULL THEN NULL
            WHEN (gi.calculation IS NULL OR gi.calculation = '') AND gg.rawgrademax > gg.rawgrademin
              THEN 100.0 * (gg.finalgrade - gg.rawgrademin) / (gg.rawgrademax - gg.rawgrademin)
            WHEN gi.grademax > gi.grademin
              THEN 100.0 * (gg.finalgrade - gi.grademin) / (gi.grademax - gi.grademin)
       END AS pct,
       gi.needsupdate
  FROM mdl_grade_items gi
  JOIN mdl_grade_categories gc ON gc.id = gi.iteminstance AND gc.courseid = gi.courseid
  JOIN mdl_grade_grades gg ON gg.itemid = gi.id
 WHERE gi.courseid = :courseid AND gi.itemtype IN ('course', 'category')
 ORDER BY gg.userid, gi.sortorder
