package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Simulator listening on a TCP address.
type Server struct {
	*Simulator
	// URL is "http://host:port", usable as the client's base URL.
	URL string

	srv  *http.Server
	stop func() bool
	done chan struct{}
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until
// ctx ends or Close is called.
func Start(ctx context.Context, addr string, opts Options) (*Server, error) {
	sim, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("el simulador no pudo escuchar en %s: %w", addr, err)
	}
	s := &Server{
		Simulator: sim,
		URL:       "http://" + ln.Addr().String(),
		srv:       &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second},
		done:      make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.log.Error("el simulador dejó de atender", "error", err.Error())
		}
	}()
	s.stop = context.AfterFunc(ctx, func() { s.srv.Close() })
	return s, nil
}

// BaseURL is the URL with SENCE's path, like the production base URL.
func (s *Server) BaseURL() string { return s.URL + BasePath }

// Close stops the server at once, cutting open connections and dropping
// the sends still in their processing delay.
func (s *Server) Close() error {
	s.stop()
	err := s.srv.Close()
	<-s.done
	s.stopProcessing()
	return err
}

// Shutdown stops accepting requests and waits for those in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	s.stopProcessing()
	return err
}
