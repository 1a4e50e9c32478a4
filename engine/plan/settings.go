package plan

import (
	"fmt"
	"time"

	"github.com/otec-tools/sence-engine/engine/cron"
)

// checkSchedule warns when run.schedule starts runs outside SENCE's send
// window (sence.window, 22:00 to 00:00 by default): engine run sends
// nothing then, and the night is lost unless something else runs it.
func (c *compiler) checkSchedule() {
	r, w := c.m.Run, c.m.Sence.Window
	if r.Schedule == "" {
		return // the default, 0 22 * * *, is inside the default window
	}
	sched, err := cron.Parse(r.Schedule)
	if err != nil {
		return // reported by the loader
	}
	start, end := minuteOfDay(w.Start, 22*60), minuteOfDay(w.End, 0)
	if start < 0 || end < 0 {
		return // reported by the loader
	}
	inside := func(m int) bool {
		if start < end {
			return m >= start && m < end
		}
		return m >= start || m < end // crosses midnight
	}
	// A week of matches shows every time of day the expression uses.
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 10_000 {
		next, ok := sched.Next(t, time.UTC)
		if !ok || next.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) > 8*24*time.Hour {
			return
		}
		if m := next.Hour()*60 + next.Minute(); !inside(m) {
			c.warnAt(r.SchedulePos, "run.schedule inicia ejecuciones a las %02d:%02d, fuera de la ventana de envío de SENCE (%s a %s, hora de Chile): a esa hora engine run no envía nada; programe la ejecución dentro de la ventana, como «0 22 * * *»",
				m/60, m%60, hhmm(start), hhmm(end))
			return
		}
		t = next
	}
}

// minuteOfDay reads "HH:MM" (def when empty); -1 when it is not a time.
func minuteOfDay(s string, def int) int {
	if s == "" {
		return def
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return -1
	}
	return t.Hour()*60 + t.Minute()
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
