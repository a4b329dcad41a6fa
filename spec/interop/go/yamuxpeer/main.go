// Command yamuxpeer is the Go side of rxmux's interop tests: a small program
// that speaks yamux through github.com/hashicorp/yamux (the Debian package
// golang-github-hashicorp-yamux-dev, 0.0+git20190923.df201c7) over one TCP
// connection and performs one scripted behaviour ("mode").
//
// Build (GOPATH mode; there is no Go module proxy here):
//
//	cd spec/interop/go/yamuxpeer
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o <out> .
//
// See ../README.md for flags, modes and the stdout protocol. In short:
// machine-readable lines go to stdout (one line per event, written
// atomically), human-oriented logs go to stderr.
//
// Deterministic data pattern (used by the source and open-echo modes):
//
//	byte i of stream k = uint8( (uint32(i)*2654435761 + uint32(k)*40503) >> 24 )
//
// i.e. the top byte of a 32-bit multiplicative hash, with all arithmetic
// modulo 2^32; k is the 0-based index of the stream in the order this peer
// opened it. The pattern does not repeat with any small period, so a
// reordered, duplicated or dropped chunk changes the sha256.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// ---------------------------------------------------------------------------
// output

var outMu sync.Mutex

// out prints one line on stdout. os.Stdout is unbuffered in Go, so the line
// is written (and visible to the parent) immediately.
func out(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[yamuxpeer %s] "+format+"\n", append([]interface{}{time.Now().Format("15:04:05.000")}, args...)...)
}

func fatalf(code int, format string, args ...interface{}) {
	logf("FATAL: "+format, args...)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// data pattern

// patternByte returns byte i of stream k; see the package comment.
func patternByte(k int, i int64) byte {
	x := uint32(i)*2654435761 + uint32(k)*40503
	return byte(x >> 24)
}

func fillPattern(k int, offset int64, buf []byte) {
	for j := range buf {
		buf[j] = patternByte(k, offset+int64(j))
	}
}

// ---------------------------------------------------------------------------
// frameConn: a net.Conn wrapper that follows the yamux frames in both
// directions.
//
// Outgoing: it can splice an extra frame into the byte stream at a frame
// boundary. This yamux version has no public way to reset (RST) an
// established stream (there is no (*Stream).Reset; RSTs are only sent
// internally for inbound SYNs after a local GoAway or when the accept backlog
// overflows). The reset mode therefore writes a raw WindowUpdate frame with
// the RST flag itself. The session's send goroutine writes a frame as a
// header Write followed by a body Write, so the wrapper parses the outgoing
// bytes and only injects between complete frames.
//
// Incoming: it records, per stream id, how many data bytes the remote sent
// and whether FIN/RST arrived, before yamux itself sees the bytes. readAll
// uses this to tell a real end of stream from two io.EOFs this yamux
// version returns too early (see readAll).

type tracker struct {
	hdr      [12]byte
	hdrFill  int
	bodyLeft uint32
	onHeader func(h []byte)
}

func (t *tracker) atBoundary() bool { return t.hdrFill == 0 && t.bodyLeft == 0 }

func (t *tracker) feed(p []byte) {
	for len(p) > 0 {
		if t.bodyLeft > 0 {
			n := uint32(len(p))
			if n > t.bodyLeft {
				n = t.bodyLeft
			}
			t.bodyLeft -= n
			p = p[n:]
			continue
		}
		n := copy(t.hdr[t.hdrFill:], p)
		t.hdrFill += n
		p = p[n:]
		if t.hdrFill == len(t.hdr) {
			t.hdrFill = 0
			if t.hdr[1] == 0 { // typeData: a body of Length bytes follows
				t.bodyLeft = binary.BigEndian.Uint32(t.hdr[8:12])
			}
			if t.onHeader != nil {
				t.onHeader(t.hdr[:])
			}
		}
	}
}

type inInfo struct {
	wire uint64 // data bytes the remote sent on this stream
	fin  bool
	rst  bool
}

type frameConn struct {
	net.Conn

	wmu     sync.Mutex
	wt      tracker
	pending [][]byte

	rt  tracker // used only by the session's recv goroutine
	imu sync.Mutex
	in  map[uint32]*inInfo
}

func newFrameConn(c net.Conn) *frameConn {
	fc := &frameConn{Conn: c, in: make(map[uint32]*inInfo)}
	fc.rt.onHeader = func(h []byte) {
		typ := h[1]
		flags := binary.BigEndian.Uint16(h[2:4])
		id := binary.BigEndian.Uint32(h[4:8])
		if typ > 1 || id == 0 {
			return
		}
		fc.imu.Lock()
		info := fc.in[id]
		if info == nil {
			info = &inInfo{}
			fc.in[id] = info
		}
		if typ == 0 {
			info.wire += uint64(binary.BigEndian.Uint32(h[8:12]))
		}
		if flags&0x4 != 0 {
			info.fin = true
		}
		if flags&0x8 != 0 {
			info.rst = true
		}
		fc.imu.Unlock()
	}
	return fc
}

func (c *frameConn) info(id uint32) inInfo {
	c.imu.Lock()
	defer c.imu.Unlock()
	if i := c.in[id]; i != nil {
		return *i
	}
	return inInfo{}
}

func (c *frameConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rt.feed(p[:n])
	return n, err
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, err := c.Conn.Write(p)
	c.wt.feed(p[:n])
	if err != nil {
		return n, err
	}
	if c.wt.atBoundary() && len(c.pending) > 0 {
		for _, f := range c.pending {
			if _, err := c.Conn.Write(f); err != nil {
				return n, err
			}
		}
		c.pending = nil
	}
	return n, nil
}

// inject queues a whole frame; it is written now if the outgoing byte stream
// is at a frame boundary, otherwise right after the frame being written.
func (c *frameConn) inject(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wt.atBoundary() {
		_, err := c.Conn.Write(frame)
		return err
	}
	c.pending = append(c.pending, frame)
	return nil
}

// rstFrame encodes what yamux itself sends for a reset: version 0,
// type WindowUpdate (1), flags RST (0x8), the stream id, length 0.
func rstFrame(id uint32) []byte {
	f := make([]byte, 12)
	f[0] = 0
	f[1] = 1
	binary.BigEndian.PutUint16(f[2:4], 0x8)
	binary.BigEndian.PutUint32(f[4:8], id)
	binary.BigEndian.PutUint32(f[8:12], 0)
	return f
}

// ---------------------------------------------------------------------------
// readAll: read a stream to its real end.
//
// (*Stream).Read in this yamux version returns io.EOF whenever the stream's
// state is local-close, remote-close or closed and its receive buffer is
// momentarily empty. Two cases make that EOF premature:
//
//  1. After our own Close() (we sent FIN, state local-close) Read returns EOF
//     even though the remote has not sent FIN yet (half-close then read back
//     does not work with plain Read).
//  2. For a data frame that carries FIN, readData applies the FIN (waking the
//     reader) before copying the frame's payload into the buffer, so a
//     reader can see EOF and lose the last payload.
//
// readAll therefore only accepts EOF once the wire tracker saw the remote's
// FIN and all data bytes the remote sent on the stream were read. Otherwise
// it polls (1 ms). If the session is gone it makes one more read and then
// reports an error: the stream ended without FIN.
func readAll(s *yamux.Stream, bufSize int, fn func([]byte) error) (int64, error) {
	buf := make([]byte, bufSize)
	var got int64
	final := false
	for {
		n, err := s.Read(buf)
		if n > 0 {
			got += int64(n)
			if ferr := fn(buf[:n]); ferr != nil {
				return got, ferr
			}
		}
		if err == nil {
			continue
		}
		if err != io.EOF {
			return got, err
		}
		info := iconn.info(s.StreamID())
		if info.fin && uint64(got) >= info.wire {
			return got, nil
		}
		if info.rst {
			return got, yamux.ErrConnectionReset
		}
		if session.IsClosed() {
			if final {
				return got, fmt.Errorf("session ended before the stream's FIN (read %d of %d bytes sent)", got, info.wire)
			}
			final = true
			continue
		}
		time.Sleep(time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// flags

var (
	role        = flag.String("role", "client", "yamux role: client (odd stream ids) or server (even stream ids)")
	listenAddr  = flag.String("listen", "", "listen on this address, print 'LISTENING host:port', accept ONE TCP connection")
	connectAddr = flag.String("connect", "", "dial this host:port")
	mode        = flag.String("mode", "echo", "echo|sink|source|open-echo|halfclose|reset|goaway|ping|slow-sink|disconnect")
	nStreams    = flag.Int("streams", 0, "source/open-echo: streams to open (0 means 1); echo/sink/slow-sink: print DONE after this many streams finished (0 = unlimited)")
	nBytes      = flag.Int64("bytes", 0, "source/open-echo: bytes to write per stream; reset/disconnect: bytes to read before acting")
	count       = flag.Int("count", 1, "ping: number of pings")
	delayMs     = flag.Int("delay-ms", 10, "slow-sink: sleep between reads (ms)")
	chunk       = flag.Int("chunk", 16384, "slow-sink: read buffer size (bytes)")
	window      = flag.Uint("window", 256*1024, "MaxStreamWindowSize in bytes (this yamux version requires >= 262144)")
	keepalive   = flag.Bool("keepalive", true, "EnableKeepAlive")
	keepaliveMs = flag.Int("keepalive-ms", 30000, "KeepAliveInterval (ms)")
	writeTOms   = flag.Int("write-timeout-ms", 10000, "ConnectionWriteTimeout (ms); also the Ping timeout in this version")
	backlog     = flag.Int("backlog", 256, "AcceptBacklog")
	afterDone   = flag.String("after-done", "", "close|wait: after DONE close the session and exit, or wait for the remote to end it (default: close for source/open-echo/ping, wait otherwise)")
	tcpRst      = flag.Bool("tcp-rst", false, "disconnect: set SO_LINGER 0 so the TCP close sends a TCP RST instead of a FIN")
	timeoutS    = flag.Int("timeout-s", 60, "exit with status 124 after this many seconds whatever happens")
)

// ---------------------------------------------------------------------------
// main

var (
	session *yamux.Session
	iconn   *frameConn

	doneOnce sync.Once
	doneCh   = make(chan struct{}) // closed when the mode's work is complete
	failed   bool                  // set by modes that detected a real error
	failMu   sync.Mutex
)

func markDone() {
	doneOnce.Do(func() {
		out("DONE")
		close(doneCh)
	})
}

func markFailed(format string, args ...interface{}) {
	failMu.Lock()
	failed = true
	failMu.Unlock()
	logf("ERROR: "+format, args...)
}

func isFailed() bool {
	failMu.Lock()
	defer failMu.Unlock()
	return failed
}

// normalEnd tells whether a session shutdown error is an ordinary end of the
// connection (remote closed TCP, we closed the session) rather than a
// protocol/keepalive/window error.
func normalEnd(err error) bool {
	if err == nil || err == io.EOF || err == yamux.ErrSessionShutdown || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "broken pipe")
}

func isActive(m string) bool {
	return m == "source" || m == "open-echo" || m == "ping"
}

func main() {
	flag.Parse()

	validModes := map[string]func(){
		"echo": modeEcho, "sink": modeSink, "slow-sink": modeSlowSink,
		"source": modeSource, "open-echo": modeOpenEcho, "halfclose": modeHalfClose,
		"reset": modeReset, "goaway": modeGoAway, "ping": modePing, "disconnect": modeDisconnect,
	}
	run, ok := validModes[*mode]
	if !ok {
		fatalf(2, "unknown -mode %q", *mode)
	}
	if *role != "client" && *role != "server" {
		fatalf(2, "-role must be client or server, got %q", *role)
	}
	if (*listenAddr == "") == (*connectAddr == "") {
		fatalf(2, "exactly one of -listen or -connect is required")
	}
	if *afterDone == "" {
		if isActive(*mode) {
			*afterDone = "close"
		} else {
			*afterDone = "wait"
		}
	}
	if *afterDone != "close" && *afterDone != "wait" {
		fatalf(2, "-after-done must be close or wait")
	}

	// Hard deadline: never outlive a test.
	time.AfterFunc(time.Duration(*timeoutS)*time.Second, func() {
		logf("TIMEOUT after %ds (mode %s), exiting", *timeoutS, *mode)
		os.Exit(124)
	})

	var conn net.Conn
	var err error
	if *listenAddr != "" {
		var ln net.Listener
		ln, err = net.Listen("tcp", *listenAddr)
		if err != nil {
			fatalf(1, "listen %s: %v", *listenAddr, err)
		}
		out("LISTENING %s", ln.Addr().String())
		conn, err = ln.Accept()
		if err != nil {
			fatalf(1, "accept: %v", err)
		}
		ln.Close()
		logf("accepted TCP connection from %s", conn.RemoteAddr())
	} else {
		conn, err = net.Dial("tcp", *connectAddr)
		if err != nil {
			fatalf(1, "dial %s: %v", *connectAddr, err)
		}
		logf("connected to %s", conn.RemoteAddr())
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	iconn = newFrameConn(conn)

	cfg := yamux.DefaultConfig()
	cfg.AcceptBacklog = *backlog
	cfg.EnableKeepAlive = *keepalive
	cfg.KeepAliveInterval = time.Duration(*keepaliveMs) * time.Millisecond
	cfg.ConnectionWriteTimeout = time.Duration(*writeTOms) * time.Millisecond
	cfg.MaxStreamWindowSize = uint32(*window)
	cfg.LogOutput = os.Stderr
	if *role == "client" {
		session, err = yamux.Client(iconn, cfg)
	} else {
		session, err = yamux.Server(iconn, cfg)
	}
	if err != nil {
		fatalf(2, "yamux %s: %v", *role, err)
	}
	logf("yamux %s session up (mode %s, window %d, keepalive %v/%dms)", *role, *mode, *window, *keepalive, *keepaliveMs)

	// Session end reason: AcceptStream returns the session's shutdown error.
	// Passive modes run their own accept loop and report it via endCh;
	// active modes get a background acceptor that closes unexpected streams.
	endCh := make(chan error, 1)
	if isActive(*mode) {
		go func() {
			for {
				s, err := session.AcceptStream()
				if err != nil {
					endCh <- err
					return
				}
				logf("unexpected inbound stream %d in mode %s; closing it", s.StreamID(), *mode)
				out("UNEXPECTED STREAM %d", s.StreamID())
				s.Close()
			}
		}()
		go run()
	} else {
		go func() {
			run() // returns when AcceptStream fails
			endCh <- acceptErr
		}()
	}

	var endErr error
	select {
	case <-doneCh:
		if *afterDone == "close" {
			logf("mode %s done; closing session", *mode)
			session.Close()
			endErr = <-endCh
		} else {
			endErr = <-endCh
		}
	case endErr = <-endCh:
	}

	// For modes with an unbounded accept loop the session end completes the
	// work; give handlers a moment to print their last lines. Active modes
	// finish quickly once the session is gone (reads see EOF, writes fail).
	if !isActive(*mode) {
		waitHandlers(2 * time.Second)
	} else {
		select {
		case <-doneCh:
		case <-time.After(2 * time.Second):
		}
	}
	if endErr == nil {
		endErr = yamux.ErrSessionShutdown
	}
	out("SESSION END %v", endErr)
	logf("session ended: %v", endErr)

	select {
	case <-doneCh:
	default:
		if unbounded() {
			markDone()
		} else {
			fatalf(3, "session ended before mode %s completed (%v)", *mode, endErr)
		}
	}
	if isFailed() {
		fatalf(1, "mode %s reported errors", *mode)
	}
	if !normalEnd(endErr) {
		fatalf(1, "session error: %v", endErr)
	}
	os.Exit(0)
}

// unbounded tells whether the mode has no completion of its own, so that the
// end of the session is its completion.
func unbounded() bool {
	switch *mode {
	case "echo", "sink", "slow-sink":
		return *nStreams == 0
	}
	return false
}

// ---------------------------------------------------------------------------
// passive modes

var (
	acceptErr error
	handlers  sync.WaitGroup
)

func waitHandlers(d time.Duration) {
	c := make(chan struct{})
	go func() { handlers.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(d):
		logf("stream handlers still running after %v; not waiting", d)
	}
}

// acceptLoop accepts streams until the session ends, running handle on each
// in its own goroutine. If -streams N > 0, DONE is printed once N handlers
// have finished.
func acceptLoop(handle func(*yamux.Stream)) {
	var finished int
	var mu sync.Mutex
	for {
		s, err := session.AcceptStream()
		if err != nil {
			acceptErr = err
			return
		}
		logf("accepted stream %d", s.StreamID())
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			handle(s)
			mu.Lock()
			finished++
			if *nStreams > 0 && finished == *nStreams {
				markDone()
			}
			mu.Unlock()
		}()
	}
}

// acceptOne accepts a single stream, or returns nil when the session ended.
func acceptOne() *yamux.Stream {
	s, err := session.AcceptStream()
	if err != nil {
		acceptErr = err
		return nil
	}
	logf("accepted stream %d", s.StreamID())
	return s
}

// waitEnd blocks the passive mode goroutine until the session is over,
// accepting (and closing) any further streams so the remote is not stuck.
func waitEnd() {
	for {
		s, err := session.AcceptStream()
		if err != nil {
			acceptErr = err
			return
		}
		logf("extra inbound stream %d after the mode's stream; closing it", s.StreamID())
		out("UNEXPECTED STREAM %d", s.StreamID())
		s.Close()
	}
}

func modeEcho() {
	acceptLoop(func(s *yamux.Stream) {
		n, err := readAll(s, 32*1024, func(b []byte) error {
			_, werr := s.Write(b)
			return werr
		})
		if err != nil {
			logf("echo stream %d: %v after %d bytes", s.StreamID(), err, n)
			out("ECHO %d %d ERROR %v", s.StreamID(), n, err)
			s.Close()
			return
		}
		s.Close()
		logf("echo stream %d: echoed %d bytes, closed", s.StreamID(), n)
		out("ECHO %d %d", s.StreamID(), n)
	})
}

func sinkReply(s *yamux.Stream, n int64, sum []byte, err error, label string) {
	if err != nil {
		logf("%s stream %d: read error %v after %d bytes", label, s.StreamID(), err, n)
		out("%s %d %d ERROR %v", strings.ToUpper(label), s.StreamID(), n, err)
		s.Close()
		return
	}
	line := fmt.Sprintf("%d %s\n", n, hex.EncodeToString(sum))
	if _, werr := s.Write([]byte(line)); werr != nil {
		logf("%s stream %d: write reply: %v", label, s.StreamID(), werr)
	}
	s.Close()
	logf("%s stream %d: %d bytes sha256 %s", label, s.StreamID(), n, hex.EncodeToString(sum))
	out("%s %d %d %s", strings.ToUpper(label), s.StreamID(), n, hex.EncodeToString(sum))
}

func modeSink() {
	acceptLoop(func(s *yamux.Stream) {
		h := sha256.New()
		n, err := readAll(s, 32*1024, func(b []byte) error {
			h.Write(b)
			return nil
		})
		sinkReply(s, n, h.Sum(nil), err, "sink")
	})
}

func modeSlowSink() {
	acceptLoop(func(s *yamux.Stream) {
		h := sha256.New()
		// Read at most -chunk bytes per Read and sleep -delay-ms after each
		// chunk, so the receive window fills and the sender has to wait for
		// window updates.
		time.Sleep(time.Duration(*delayMs) * time.Millisecond)
		n, err := readAll(s, *chunk, func(b []byte) error {
			h.Write(b)
			time.Sleep(time.Duration(*delayMs) * time.Millisecond)
			return nil
		})
		sinkReply(s, n, h.Sum(nil), err, "slow-sink")
	})
}

func modeHalfClose() {
	s := acceptOne()
	if s == nil {
		return
	}
	n, err := readAll(s, 32*1024, func([]byte) error { return nil })
	if err != nil {
		markFailed("halfclose stream %d: read error %v after %d bytes", s.StreamID(), err, n)
		out("HALFCLOSE %d %d ERROR %v", s.StreamID(), n, err)
		s.Close()
		markDone()
		waitEnd()
		return
	}
	logf("halfclose stream %d: EOF after %d bytes; replying", s.StreamID(), n)
	if _, err := s.Write([]byte(fmt.Sprintf("got %d\n", n))); err != nil {
		markFailed("halfclose stream %d: write after remote FIN failed: %v", s.StreamID(), err)
	}
	s.Close()
	out("HALFCLOSE %d %d", s.StreamID(), n)
	markDone()
	waitEnd()
}

// readN reads up to want bytes (stopping early on EOF or error).
func readN(s *yamux.Stream, want int64) (int64, error) {
	var n int64
	buf := make([]byte, 32*1024)
	for n < want {
		b := buf
		if int64(len(b)) > want-n {
			b = b[:want-n]
		}
		k, err := s.Read(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func modeReset() {
	s := acceptOne()
	if s == nil {
		return
	}
	n, err := readN(s, *nBytes)
	if err != nil {
		logf("reset stream %d: read stopped early: %v after %d bytes", s.StreamID(), err, n)
	}
	// No (*Stream).Reset in this yamux version: inject a raw RST frame.
	if err := iconn.inject(rstFrame(s.StreamID())); err != nil {
		markFailed("reset stream %d: writing RST frame: %v", s.StreamID(), err)
	}
	logf("reset stream %d: sent RST after reading %d bytes", s.StreamID(), n)
	out("RESET %d AFTER %d", s.StreamID(), n)
	markDone()
	waitEnd()
}

func modeGoAway() {
	s := acceptOne()
	if s == nil {
		return
	}
	if err := session.GoAway(); err != nil {
		markFailed("GoAway: %v", err)
	} else {
		logf("sent GoAway (normal)")
		out("GOAWAY SENT")
	}
	n, err := readAll(s, 32*1024, func(b []byte) error {
		_, werr := s.Write(b)
		return werr
	})
	if err != nil {
		markFailed("goaway stream %d: echo error %v after %d bytes", s.StreamID(), err, n)
		out("ECHO %d %d ERROR %v", s.StreamID(), n, err)
	} else {
		out("ECHO %d %d", s.StreamID(), n)
	}
	s.Close()
	// In this yamux version a *local* GoAway only makes the session refuse
	// (RST) new inbound streams; OpenStream is only refused after a *remote*
	// GoAway, so this normally succeeds and opens a stream to the remote.
	o, oerr := session.OpenStream()
	if oerr != nil {
		out("OPEN AFTER GOAWAY: %v", oerr)
	} else {
		out("OPEN AFTER GOAWAY: <nil> (stream %d)", o.StreamID())
		o.Close()
	}
	markDone()
	waitEnd()
}

func modeDisconnect() {
	s := acceptOne()
	if s == nil {
		return
	}
	n, err := readN(s, *nBytes)
	if err != nil {
		logf("disconnect stream %d: read stopped early: %v after %d bytes", s.StreamID(), err, n)
	}
	if *tcpRst {
		if tc, ok := iconn.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	logf("disconnect: closing TCP connection after %d bytes (tcp-rst=%v)", n, *tcpRst)
	iconn.Conn.Close()
	out("DISCONNECT AFTER %d", n)
	markDone()
	waitEnd()
}

// ---------------------------------------------------------------------------
// active modes

func streamsToOpen() int {
	if *nStreams <= 0 {
		return 1
	}
	return *nStreams
}

// openStreams opens the streams in index order (so index k has the k-th
// stream id this peer allocates), returning nil entries on failure.
func openStreams() []*yamux.Stream {
	n := streamsToOpen()
	ss := make([]*yamux.Stream, n)
	for k := 0; k < n; k++ {
		s, err := session.OpenStream()
		if err != nil {
			out("STREAM %d OPEN-ERROR %v", k, err)
			markFailed("open stream %d: %v", k, err)
			continue
		}
		logf("opened stream index %d id %d", k, s.StreamID())
		ss[k] = s
	}
	return ss
}

// writePattern writes -bytes pattern bytes on stream k, then closes (FIN).
func writePattern(k int, s *yamux.Stream, h io.Writer) (int64, error) {
	buf := make([]byte, 64*1024)
	var off int64
	for off < *nBytes {
		b := buf
		if int64(len(b)) > *nBytes-off {
			b = b[:*nBytes-off]
		}
		fillPattern(k, off, b)
		if h != nil {
			h.Write(b)
		}
		w, err := s.Write(b)
		off += int64(w)
		if err != nil {
			return off, err
		}
	}
	return off, s.Close()
}

func modeSource() {
	ss := openStreams()
	var wg sync.WaitGroup
	for k, s := range ss {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func(k int, s *yamux.Stream) {
			defer wg.Done()
			werrCh := make(chan error, 1)
			go func() {
				w, err := writePattern(k, s, nil)
				if err != nil {
					out("STREAM %d WRITE %d ERROR %v", k, w, err)
					s.Close()
				}
				werrCh <- err
			}()
			var data []byte
			got, rerr := readAll(s, 32*1024, func(b []byte) error {
				if len(data) < 4096 {
					data = append(data, b...)
				}
				return nil
			})
			<-werrCh
			if rerr != nil {
				out("STREAM %d READ %d ERROR %v", k, got, rerr)
			} else {
				out("STREAM %d READ %d", k, got)
			}
			if got > 0 && got <= 4096 {
				logf("stream %d reply: %q", k, string(data))
			}
		}(k, s)
	}
	wg.Wait()
	markDone()
}

func modeOpenEcho() {
	ss := openStreams()
	var wg sync.WaitGroup
	for k, s := range ss {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func(k int, s *yamux.Stream) {
			defer wg.Done()
			sent := sha256.New()
			var wrote int64
			werrCh := make(chan error, 1)
			go func() {
				w, err := writePattern(k, s, sent)
				wrote = w
				if err != nil {
					s.Close()
				}
				werrCh <- err
			}()
			var off int64
			var mismatchAt int64 = -1
			got, rerr := readAll(s, 32*1024, func(b []byte) error {
				for j, c := range b {
					if mismatchAt < 0 && c != patternByte(k, off+int64(j)) {
						mismatchAt = off + int64(j)
					}
				}
				off += int64(len(b))
				return nil
			})
			werr := <-werrCh
			sum := hex.EncodeToString(sent.Sum(nil))
			switch {
			case werr != nil:
				out("STREAM %d FAIL write error after %d bytes: %v", k, wrote, werr)
				markFailed("stream %d write: %v", k, werr)
			case rerr != nil:
				out("STREAM %d FAIL read error after %d bytes: %v", k, got, rerr)
				markFailed("stream %d read: %v", k, rerr)
			case got != *nBytes:
				out("STREAM %d FAIL length sent %d received %d", k, *nBytes, got)
				markFailed("stream %d length mismatch", k)
			case mismatchAt >= 0:
				out("STREAM %d FAIL data mismatch at byte %d", k, mismatchAt)
				markFailed("stream %d data mismatch", k)
			default:
				out("STREAM %d OK %s", k, sum)
			}
		}(k, s)
	}
	wg.Wait()
	markDone()
}

func modePing() {
	for i := 0; i < *count; i++ {
		rtt, err := session.Ping()
		if err != nil {
			out("PING ERROR %v", err)
			markFailed("ping %d: %v", i, err)
			break
		}
		out("RTT %d", rtt.Nanoseconds())
	}
	markDone()
}
