package assemble_test

import (
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// benchSite is a demo site of 4 courses × 100 students on SQLite.
func benchSite(b *testing.B) *plan.Plan {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 100
	dsn, _ := loadDemo(b, "sqlite", "mdl_", cfg)
	return demoPlan(b, "sqlite", dsn, "mdl_")
}

func students(rs []*assemble.CourseResult) int {
	n := 0
	for _, r := range rs {
		if r.Payload != nil {
			n += len(r.Payload.ListaAlumnos)
		}
	}
	return n
}

// BenchmarkPipeline reports the cost per student of each stage: reading
// and building (queries, grouping, expressions), marshalling, validating.
func BenchmarkPipeline(b *testing.B) {
	pl := benchSite(b)
	check := validator(b)
	var buildT, marshalT, validateT time.Duration
	var n, queries int
	for b.Loop() {
		t0 := time.Now()
		rs, stats := runBuild(b, pl, assemble.Options{})
		t1 := time.Now()
		for _, r := range rs {
			if r.Payload != nil {
				if _, err := payload.Marshal(r.Payload); err != nil {
					b.Fatal(err)
				}
			}
		}
		t2 := time.Now()
		for _, r := range rs {
			if r.Payload != nil {
				check(r.Payload)
			}
		}
		t3 := time.Now()
		buildT += t1.Sub(t0)
		marshalT += t2.Sub(t1)
		validateT += t3.Sub(t2)
		n += students(rs)
		queries = stats.Queries
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) / 1000 }
	b.ReportMetric(per(buildT), "build-µs/student")
	b.ReportMetric(per(marshalT), "marshal-µs/student")
	b.ReportMetric(per(validateT), "validate-µs/student")
	b.ReportMetric(float64(queries), "queries/run")
	b.ReportMetric(float64(n)/float64(b.N), "students/run")
}
