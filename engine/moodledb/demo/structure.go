package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Fixed context ids: the system, the site course and the two course
// categories ("Capacitación interna" 1, "Cursos SENCE" 2).
const (
	ctxSystem     = 1
	ctxSiteCourse = 2
	ctxCategory1  = 3
	ctxCategory2  = 4
)

// moduleIDs are the ids of mdl_modules in a standard Moodle 4.4 install,
// which installs activity modules in alphabetical order, and of the Zoom
// plugin (mod_zoom) the site installed afterwards.
var moduleIDs = map[string]int64{
	"assign": 1, "bigbluebuttonbn": 2, "book": 3, "chat": 4, "choice": 5, "data": 6, "feedback": 7,
	"folder": 8, "forum": 9, "glossary": 10, "h5pactivity": 11, "imscp": 12, "label": 13, "lesson": 14,
	"lti": 15, "page": 16, "quiz": 17, "resource": 18, "scorm": 19, "survey": 20, "url": 21, "wiki": 22,
	"workshop": 23, "zoom": 24,
}

// live reports whether an activity is a live class.
func live(module string) bool { return module == "bigbluebuttonbn" || module == "zoom" }

// moduleNames lists moduleIDs by id.
var moduleNames = func() []string {
	out := make([]string, len(moduleIDs))
	for n, id := range moduleIDs {
		out[id-1] = n
	}
	return out
}()

type slot struct {
	mod        string
	name       string
	completion int
	view       bool
	max, pass  float64 // grade range top and pass mark; 0 = not graded
	extra      string
	deleting   bool
}

// moduleSlots is the content of a module section: a heading label and n
// activities with completion, in the order a course designer lays them out.
func moduleSlots(n, k int, title string) []slot {
	ks := strconv.Itoa(k)
	out := []slot{{mod: "label", name: "Módulo " + ks + ": " + title}}
	for i := range n {
		var s slot
		switch i {
		case 0:
			s = slot{mod: "page", name: "Introducción: " + title, completion: 2, view: true}
		case 1:
			s = slot{mod: "resource", name: "Presentación del módulo " + ks + " (PDF)", completion: 2, view: true}
		case 2:
			s = slot{mod: "bigbluebuttonbn", name: "Clase en vivo " + ks + ": " + title, completion: 2}
		case 3:
			s = slot{mod: "quiz", name: "Cuestionario " + ks + ": " + title, completion: 2, max: 10, pass: 6}
		case 4:
			s = slot{mod: "assign", name: "Tarea " + ks + ": aplicación práctica", completion: 2, max: 100, pass: 60}
		case 5:
			s = slot{mod: "forum", name: "Foro " + ks + ": preguntas y experiencias", completion: 2}
		case 6:
			s = slot{mod: "url", name: "Video: " + title, completion: 1}
		case 7:
			s = slot{mod: "h5pactivity", name: "Actividad interactiva " + ks, completion: 2, view: true}
		case 8:
			s = slot{mod: "book", name: "Manual de apoyo del módulo " + ks, completion: 2, view: true}
		case 9:
			s = slot{mod: "lesson", name: "Lección: " + title, completion: 2}
		default:
			s = slot{mod: "page", name: fmt.Sprintf("Lectura complementaria %d del módulo %d", i-9, k), completion: 2, view: true}
		}
		out = append(out, s)
	}
	return out
}

// structure builds a course's sections, activities, contexts and
// gradebook, allocating their ids.
func (g *generator) structure(c *Course) {
	if g.instanceN == nil {
		g.instanceN = map[string]int64{}
		g.ds.contextN = ctxCategory2
	}
	clk := g.ds.clk
	crng := rand.New(rand.NewPCG(g.ds.Config.Seed, 0x5C<<56|uint64(c.ID)))
	if c.kind == kindSite {
		c.ContextID = ctxSiteCourse
		g.sectionN++
		c.Sections = []*Section{{ID: g.sectionN, Number: 0}}
		return
	}
	g.ds.contextN++
	c.ContextID = g.ds.contextN

	// Section 0: the announcements forum. In SENCE courses the site's
	// default completion leaves it with manual completion, which Moodle's
	// own progress counts and SENCE's modules must not.
	news := slot{mod: "forum", name: "Avisos", extra: "news"}
	if c.SENCE {
		news.completion = 1
		news.extra = "news-completion"
	}
	layout := [][]slot{{news}}
	var codes, titles []string
	t := topics[max(c.idx, 0)%len(topics)]
	if c.SENCE {
		for k := 1; k <= g.ds.Config.ModulesPerCourse; k++ {
			title := t.modules[(k-1)%len(t.modules)]
			if c.idx != 0 && title == "Material complementario" {
				title = t.modules[len(t.modules)-1]
			}
			code := moduleCode(c.idx, k)
			if c.kind == kindNoCodes {
				// Sections named as units, without the module code.
				code, title = "", fmt.Sprintf("Unidad %d: %s", k, title)
			}
			slots := moduleSlots(g.ds.Config.ActivitiesPerModule, k, title)
			if c.idx == 2 && k == 1 {
				slots = zoomSlots(slots)
			}
			if c.idx == 0 {
				slots = g.specialSlots(slots, k)
				if k == g.ds.Config.ModulesPerCourse && k > 1 {
					title = "Material complementario"
					slots = []slot{
						{mod: "label", name: "Módulo " + strconv.Itoa(k) + ": " + title},
						{mod: "resource", name: "Glosario de términos de prevención de riesgos", extra: "no-completion"},
						{mod: "page", name: "Enlaces de interés: ISP, SUSESO y mutualidades", extra: "no-completion"},
					}
				}
			}
			layout = append(layout, slots)
			codes = append(codes, code)
			titles = append(titles, title)
		}
		layout = append(layout, []slot{{mod: "feedback", name: "Encuesta de satisfacción del curso", completion: 2}})
		codes = append(codes, "")
		titles = append(titles, "Cierre del curso")
	} else {
		for k, title := range []string{"Bienvenida al aula virtual", "Herramientas de evaluación"} {
			layout = append(layout, moduleSlots(4, k+1, title))
			codes = append(codes, "")
			titles = append(titles, title)
		}
	}

	// Window for scheduling live classes. A course without dates has held
	// all its classes during the last month.
	startDay, endDay := -30, 45
	if c.StartDate > 0 {
		startDay = int((c.StartDate - clk.base) / day)
	}
	if c.EndDate > 0 {
		endDay = int((c.EndDate - clk.base) / day)
	} else if c.kind == kindOther {
		endDay = 0
	} else if c.kind == kindNoDates {
		endDay = -5
	}
	nMods := len(layout) - 1
	if c.SENCE {
		nMods--
	}

	// Gradebook: the root category and its course total.
	g.gradeCatN++
	c.GradeCategoryID = g.gradeCatN
	g.gradeItemN++
	c.GradeItemID = g.gradeItemN

	for num, slots := range layout {
		s := &Section{Number: num}
		g.sectionN++
		s.ID = g.sectionN
		modIndex := -1
		if num > 0 {
			s.Name = titles[num-1]
			s.Code = codes[num-1]
			if s.Code != "" {
				s.Name = sectionName(s.Code, titles[num-1], num)
				modIndex = num - 1
			}
		}
		if s.Code != "" {
			g.gradeCatN++
			s.GradeCategoryID = g.gradeCatN
		}
		for _, sl := range slots {
			g.cmN++
			g.instanceN[sl.mod]++
			g.ds.contextN++
			a := &Activity{
				CMID: g.cmN, Module: sl.mod, Instance: g.instanceN[sl.mod], Name: sl.name,
				Completion: sl.completion, CompletionView: sl.view, Deleting: sl.deleting,
				ContextID: g.ds.contextN, section: s, modIndex: modIndex, extra: sl.extra,
				GradeMax: sl.max, GradePass: sl.pass,
			}
			if sl.max > 0 {
				g.gradeItemN++
				a.GradeItemID = g.gradeItemN
			}
			if live(sl.mod) && nMods > 0 {
				pos := num - 1 // the class of the n-th section
				d := startDay + int((float64(pos)+0.7)*float64(endDay-startDay)/float64(nMods))
				a.Open = clk.at(d, 19*3600)
				a.Duration = int64(3600 + 300*crng.IntN(7))
			}
			s.Activities = append(s.Activities, a)
		}
		if s.GradeCategoryID != 0 {
			g.gradeItemN++
			s.GradeItemID = g.gradeItemN
		}
		c.Sections = append(c.Sections, s)
	}
}

// specialSlots adds to the first course's modules the activities that
// break naive integrations.
func (g *generator) specialSlots(slots []slot, k int) []slot {
	switch k {
	case 3:
		// A live class without completion tracking: still a synchronous
		// activity, and its attendance still counts.
		for i := range slots {
			if slots[i].mod == "bigbluebuttonbn" {
				slots[i].completion, slots[i].extra = 0, "live-no-completion"
			}
		}
	case 1:
		for i := range slots {
			if slots[i].mod == "quiz" {
				slots[i].name = longActivityName
				slots[i].extra = "long-name"
			}
		}
		slots = append(slots, slot{mod: "resource", name: "Lectura complementaria: Ley 16.744 sobre accidentes del trabajo", extra: "no-completion"})
	case 2:
		slots = append(slots, slot{mod: "quiz", name: "Cuestionario de práctica (versión anterior)", completion: 2, deleting: true, extra: "deleting"})
	}
	return slots
}

// zoomSlots makes a module's live class a Zoom meeting (mod_zoom), without
// completion tracking, as the plugin is usually set up.
func zoomSlots(slots []slot) []slot {
	for i := range slots {
		if slots[i].mod == "bigbluebuttonbn" {
			slots[i] = slot{mod: "zoom", name: strings.Replace(slots[i].name, "Clase en vivo", "Clase por Zoom", 1), extra: "zoom"}
		}
	}
	return slots
}

// allActivities lists a course's activities in course order.
func (c *Course) allActivities() []*Activity {
	var out []*Activity
	for _, s := range c.Sections {
		out = append(out, s.Activities...)
	}
	return out
}
