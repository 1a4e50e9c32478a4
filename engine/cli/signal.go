package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/otec-tools/sence-engine/engine/outfile"
)

// Interrupted is the cause of a command's context when the engine received
// SIGINT (Ctrl-C) or SIGTERM.
type Interrupted struct{ Signal os.Signal }

func (i *Interrupted) Error() string { return "interrumpido por " + signalName(i.Signal) }

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "Ctrl-C (SIGINT)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// stopGrace is how long a command may take to stop after the first
// signal before the engine stops it. The commands that send to SENCE
// finish the request in flight (its outcome must be known and, for run,
// recorded), bounded by sence.timeout, so they are waited for; a second
// signal stops them too. The others hold nothing that cannot be redone.
func stopGrace(command string) time.Duration {
	switch command {
	case "run", "schedule", "send", "sence-test":
		return 0
	case "simulator":
		return 10 * time.Second // it drains its connections for 5 s
	}
	return 2 * time.Second
}

// stopsOnSignal are the commands for which a signal is the ordinary way to
// stop (simulator, schedule), or that report an interruption themselves
// (run, in its log and report).
func stopsOnSignal(command string) bool {
	return command == "run" || command == "schedule" || command == "simulator"
}

// Main runs a command line as the engine binary does. The first SIGINT or
// SIGTERM cancels the command's context (with an *Interrupted cause): the
// command stops and exits 3, since its work is incomplete (simulator and
// schedule exit 0: a signal is how they are stopped). A command that has
// not stopped after its grace period, or a second signal, ends it at once:
// the temporary files it registered are removed and the exit code is 3.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan int, 1)
	go func() { done <- Run(ctx, args, stdout, stderr) }()
	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	cancel(&Interrupted{Signal: sig})
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	var expired <-chan time.Time
	if g := stopGrace(name); g > 0 {
		expired = time.After(g)
	}
	select {
	case code := <-done:
		return code
	case s := <-sigs:
		fmt.Fprintf(stderr, "engine: %s otra vez: se detiene sin esperar a que termine lo que estaba en curso\n", signalName(s))
	case <-expired:
		fmt.Fprintf(stderr, "engine: «%s» no se detuvo a tiempo tras %s: se detiene ahora\n", name, signalName(sig))
	}
	outfile.RemoveHeld()
	return ExitFailed
}

// interrupted returns the signal that cancelled ctx, if one did.
func interrupted(ctx context.Context) (*Interrupted, bool) {
	in, ok := context.Cause(ctx).(*Interrupted)
	return in, ok
}
