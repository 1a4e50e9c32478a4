package assemble

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// courseEntity is a selected course with its early scope.
type courseEntity struct {
	id    string
	rawID any
	sc    scope
	res   *CourseResult
	// listed is the course's entry in courses.list, if any: its codes
	// override the fields.
	listed *mapping.ListedCourse
}

// leftOut is a course the selection left out, to be checked by
// courses.unselected (reason "") or reported with the include rule's
// reason.
type leftOut struct {
	id     string
	row    map[string]any
	sc     scope
	reason string
}

// courses runs the course query, evaluates identity and include, and
// applies the static list and the --course filter. It returns the selected
// courses, the results of courses whose identity failed, and the courses
// the selection left out that must be checked or reported.
func (b *builder) courses(ctx context.Context) ([]*courseEntity, []*CourseResult, []*leftOut, error) {
	lv := b.plan.Levels[mapping.Course]
	rows, err := b.query(ctx, lv.From, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var out []*courseEntity
	var failed []*CourseResult
	var left []*leftOut
	list := lv.List
	check := lv.UnselectedProg != nil
	matched := map[string]bool{}
	match := func(values ...string) {
		for _, s := range b.opts.Courses {
			if !matched[s] && slices.Contains(values, s) {
				matched[s] = true
				b.stats.Matched = append(b.stats.Matched, s)
			}
		}
	}
	noteLeftOut := func(shortname string) {
		if len(b.stats.LeftOutNames) < leftOutSample {
			b.stats.LeftOutNames = append(b.stats.LeftOutNames, strings.TrimSpace(shortname))
		}
	}
	for _, row := range rows {
		keyVal := row[lv.Key]
		id := canon(keyVal)
		shortname := fmt.Sprint(row["shortname"])
		b.stats.CoursesSeen++
		match(id, shortname)
		// With --course, only the courses asked for are of interest,
		// selected or not.
		asked := func(codigo string) bool {
			return len(b.opts.Courses) == 0 || slices.ContainsFunc(b.opts.Courses, func(s string) bool {
				return s == codigo || s == id || s == shortname
			})
		}
		sc := b.baseScope()
		for _, col := range lv.From.Columns {
			if lv.Flat[col] == lv.From {
				sc[col] = row[col]
			}
		}
		sc[lv.From.Name] = row
		listed := listedCourse(list, id, shortname)
		res := &CourseResult{CourseID: id, Label: labelOf(row, id)}
		if len(list) > 0 && listed == nil {
			noteLeftOut(shortname)
			if check && asked("") {
				b.evalSteps(lv.Early, sc) // what fails reads as nil
				left = append(left, &leftOut{id: id, row: row, sc: sc})
			}
			continue
		}
		if err := b.evalSteps(lv.Early, sc); err != nil {
			res.Err = err
			if asked(fmt.Sprint(sc["codigoOferta"])) {
				failed = append(failed, res)
			}
			continue
		}
		if listed != nil {
			if listed.CodigoOferta != "" {
				sc["codigoOferta"] = listed.CodigoOferta
			}
			if listed.CodigoGrupo != "" {
				sc["codigoGrupo"] = listed.CodigoGrupo
			}
		}
		res.CodigoOferta, _ = sc["codigoOferta"].(string)
		res.CodigoGrupo, _ = sc["codigoGrupo"].(string)
		match(res.CodigoOferta)
		if lv.Include != nil && listed == nil {
			ok, why, err := b.include(b.runner(lv.Include), sc)
			if err != nil {
				res.Err = err
				if asked(res.CodigoOferta) {
					failed = append(failed, res)
				}
				continue
			}
			if !ok {
				noteLeftOut(shortname)
				if asked(res.CodigoOferta) && (why != "" || check) {
					left = append(left, &leftOut{id: id, row: row, sc: sc, reason: why})
				}
				continue
			}
		}
		if !asked(res.CodigoOferta) {
			continue
		}
		out = append(out, &courseEntity{id: id, rawID: keyVal, sc: sc, res: res, listed: listed})
	}
	return out, failed, left, nil
}

// unselected checks the courses the selection left out with
// courses.unselected, reading its queries in large batches, and tells
// Options.OnUnselected of every course it reports, in the order of the
// course query.
func (b *builder) unselected(ctx context.Context, left []*leftOut) error {
	lv := b.plan.Levels[mapping.Course]
	tell := func(l *leftOut, reason string) {
		if b.opts.OnUnselected == nil || reason == "" {
			return
		}
		u := UnselectedCourse{CourseID: l.id, Shortname: strings.TrimSpace(fmt.Sprint(l.row["shortname"])), Reason: reason}
		if f, ok := l.row["fullname"].(string); ok {
			u.Fullname = strings.TrimSpace(f)
		}
		b.opts.OnUnselected(u)
	}
	for start := 0; start < len(left); start += unselectedBatch {
		batch := left[start:min(start+unselectedBatch, len(left))]
		var ids []int64
		for _, l := range batch {
			if l.reason != "" {
				continue
			}
			if n, err := strconv.ParseInt(l.id, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
		rows := map[*plan.Query]map[string][][]any{}
		cols := map[*plan.Query][]string{}
		if len(ids) > 0 {
			for _, q := range lv.Unselected {
				if q.Skipped {
					continue
				}
				g, c, err := b.queryVals(ctx, q, ids)
				if err != nil {
					return err
				}
				b.stats.UnselectedQueries++
				rows[q], cols[q] = g, c
			}
		}
		for _, l := range batch {
			if l.reason != "" {
				tell(l, l.reason)
				continue
			}
			b.stats.Unselected++
			l.sc[plan.NameStaticList] = len(lv.List) > 0
			for _, q := range lv.Unselected {
				got := rows[q][canon(l.id)]
				if q.Multiple {
					list := make([]any, len(got))
					for i, r := range got {
						list[i] = rowMap(cols[q], r)
					}
					l.sc[q.Name] = list
					continue
				}
				if len(got) > 0 {
					l.sc[q.Name] = rowMap(cols[q], got[0])
				} else {
					l.sc[q.Name] = b.emptyRow(q)
				}
			}
			v, err := lv.UnselectedProg.RunVM(&b.vm, l.sc)
			switch x := v.(type) {
			case nil:
				if err != nil {
					tell(l, "no se pudo revisar si parece un curso SENCE («courses.unselected»): "+err.Error())
				}
			case string:
				tell(l, x)
			case bool:
				if x {
					tell(l, "«courses.unselected» lo marca como un curso SENCE que no se informa")
				}
			default:
				tell(l, fmt.Sprintf("«courses.unselected» debe dar false o un texto con el motivo; dio %v", v))
			}
			l.sc = nil
		}
	}
	return nil
}

func labelOf(row map[string]any, id string) string {
	for _, k := range []string{"fullname", "shortname"} {
		if s, ok := row[k].(string); ok && s != "" {
			return s
		}
	}
	return "curso " + id
}

// listedCourse is the course's entry in courses.list (by id or short
// name; the last one that names it), nil when the list does not name it.
func listedCourse(list []mapping.ListedCourse, id, shortname string) *mapping.ListedCourse {
	var listed *mapping.ListedCourse
	for i := range list {
		if list[i].Course == id || list[i].Course == shortname {
			listed = &list[i]
		}
	}
	return listed
}
