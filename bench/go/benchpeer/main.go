// benchpeer: one side of one `npm run bench` measurement with hashicorp/yamux on both ends (peer go-yamux).
//
//	benchpeer acceptor go-yamux <workload> <params-json>
//	benchpeer opener   go-yamux <workload> <params-json> <port>
//
// It speaks the messages of bench/worker.ts as JSON lines: to the orchestrator on stdout ({"t":"ready","port":N},
// {"t":"opened"}, {"t":"result","figures":{...}}, {"t":"error","message":"..."}), from it on stdin
// ({"t":"measure"}, {"t":"stop"}; end of stdin also stops). yamux logs go to stderr.
//
// With BENCH_CPU_PROFILE_DIR set (as `npm run bench:profile` sets it), the process writes a pprof CPU profile of its
// whole life (set-up is a few milliseconds of it) to <dir>/<role>.pprof, closed before it exits on stop.
//
// The workloads follow bench/workloads.ts, with one difference forced by this yamux version (df201c7): after a
// local Close, Read returns io.EOF as soon as the receive buffer is empty, so an opener cannot half-close first
// and then read the answer. Openers therefore read what they wait for (the ACK, the echo) before they Close, and
// acceptors read by byte count, not to EOF.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
)

type sizes struct {
	Bulk1Bytes     int `json:"bulk1Bytes"`
	Bulk64Channels int `json:"bulk64Channels"`
	Bulk64Bytes    int `json:"bulk64Bytes"`
	WriteSize      int `json:"writeSize"`
	OpenChannels   int `json:"openChannels"`
	OpenInFlight   int `json:"openInFlight"`
	OpenPayload    int `json:"openPayload"`
	RttRounds      int `json:"rttRounds"`
	RttWarmup      int `json:"rttWarmup"`
	RttPayload     int `json:"rttPayload"`
	IdleChannels   int `json:"idleChannels"`
	HolChannels    int `json:"holChannels"`
	HolBytes       int `json:"holBytes"`
	HolPayload     int `json:"holPayload"`
	HolWarmup      int `json:"holWarmup"`
}

var (
	outMu   sync.Mutex
	measure = make(chan struct{}, 1)
	sent    bool // a result was sent: errors after it are teardown
)

func send(msg map[string]interface{}) {
	b, _ := json.Marshal(msg)
	outMu.Lock()
	if msg["t"] == "result" {
		sent = true
	}
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

func fail(err error) {
	outMu.Lock()
	done := sent
	outMu.Unlock()
	if done {
		return
	}
	send(map[string]interface{}{"t": "error", "message": fmt.Sprintf("%s: %v", os.Args[1], err)})
	time.Sleep(100 * time.Millisecond)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func result(figures map[string]float64) {
	send(map[string]interface{}{"t": "result", "figures": figures})
}

func cpuMs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// settled: Go-managed memory (heap objects + goroutine stacks) and RSS after garbage collection.
func settled() (heap, rss float64) {
	for i := 0; i < 4; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if len(f) > 1 {
		pages, _ := strconv.ParseFloat(f[1], 64)
		rss = pages * float64(os.Getpagesize())
	}
	return float64(m.HeapAlloc + m.StackInuse), rss
}

func config() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = os.Stderr
	return c
}

// readN reads exactly n bytes; an early io.EOF of this yamux version is retried (after a yield) while the
// session lives.
func readN(s *yamux.Stream, buf []byte, n int) error {
	got := 0
	for got < n {
		want := n - got
		if want > len(buf) {
			want = len(buf)
		}
		k, err := s.Read(buf[:want])
		got += k
		if err == io.EOF && got < n {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err != nil && got < n {
			return err
		}
	}
	return nil
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	rank := int(float64(len(sorted))*p/100 + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// ------------------------------------------------------------------------------------------------ acceptor

func acceptor(workload string, sz sizes) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	var baseHeap, baseRss float64
	if workload == "idle" {
		baseHeap, baseRss = settled()
	}
	send(map[string]interface{}{"t": "ready", "port": ln.Addr().(*net.TCPAddr).Port})
	conn, err := ln.Accept()
	check(err)
	sess, err := yamux.Server(conn, config())
	check(err)
	var mu sync.Mutex
	count, acked := 0, 0
	var cpu0 float64
	var t0 time.Time
	held := []*yamux.Stream{}
	for {
		s, err := sess.AcceptStream()
		if err != nil {
			return
		}
		count++
		n := count
		switch workload {
		case "bulk1", "bulk64":
			expect := sz.Bulk1Bytes
			if workload == "bulk64" {
				expect = sz.Bulk64Bytes
			}
			go func() {
				buf := make([]byte, 64*1024)
				if readN(s, buf, expect) != nil {
					return
				}
				s.Write([]byte{6})
				s.Close()
			}()
		case "open":
			go func() {
				buf := make([]byte, sz.OpenPayload)
				if readN(s, buf, sz.OpenPayload) != nil {
					return
				}
				s.Write(buf)
				s.Close()
			}()
		case "rtt":
			go func() {
				io.Copy(s, s)
				s.Close()
			}()
		case "hol":
			if n == 1 { // the echo channel, opened and warmed up before the bulk channels
				go func() {
					io.Copy(s, s)
					s.Close()
				}()
				continue
			}
			go func() {
				buf := make([]byte, 64*1024)
				k, err := s.Read(buf)
				if err != nil {
					return
				}
				mu.Lock()
				if cpu0 == 0 {
					cpu0, t0 = cpuMs(), time.Now()
				}
				mu.Unlock()
				if k < sz.HolBytes && readN(s, buf, sz.HolBytes-k) != nil {
					return
				}
				s.Write([]byte{6})
				mu.Lock()
				acked++
				if acked == sz.HolChannels {
					result(map[string]float64{"acceptorCpuMs": cpuMs() - cpu0, "acceptorWallMs": float64(time.Since(t0).Microseconds()) / 1000})
				}
				mu.Unlock()
				s.Close()
			}()
		case "idle":
			held = append(held, s)
			go func() { io.Copy(io.Discard, s) }()
			if n == sz.IdleChannels {
				go func() {
					time.Sleep(50 * time.Millisecond)
					h, r := settled()
					k := float64(sz.IdleChannels)
					result(map[string]float64{"acceptorHeap": (h - baseHeap) / k, "acceptorRss": (r - baseRss) / k})
				}()
			}
		}
	}
}

// ------------------------------------------------------------------------------------------------ opener

func filled(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// pour writes `bytes` in `chunk`-sized blocking writes.
func pour(s *yamux.Stream, bytes int, chunk []byte) {
	for sent := 0; sent < bytes; sent += len(chunk) {
		c := chunk
		if sent+len(c) > bytes {
			c = c[:bytes-sent]
		}
		_, err := s.Write(c)
		check(err)
	}
}

func ack(s *yamux.Stream) {
	check(readN(s, make([]byte, 1), 1))
}

func opener(workload string, sz sizes, port string) {
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	check(err)
	sess, err := yamux.Client(conn, config())
	check(err)
	open := func() *yamux.Stream {
		s, err := sess.OpenStream()
		check(err)
		return s
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	switch workload {
	case "bulk1":
		s := open()
		chunk := filled(sz.WriteSize)
		t0 := time.Now()
		pour(s, sz.Bulk1Bytes, chunk)
		ack(s)
		d := ms(time.Since(t0))
		s.Close()
		result(map[string]float64{"mibps": float64(sz.Bulk1Bytes) / (1 << 20) / (d / 1000), "ms": d})
	case "bulk64", "hol":
		n, bytes := sz.Bulk64Channels, sz.Bulk64Bytes
		var echo *yamux.Stream
		msg := filled(sz.HolPayload)
		round := func() {
			_, err := echo.Write(msg)
			check(err)
			check(readN(echo, make([]byte, len(msg)), len(msg)))
		}
		if workload == "hol" {
			n, bytes = sz.HolChannels, sz.HolBytes
			echo = open()
			for i := 0; i < sz.HolWarmup; i++ {
				round()
			}
		}
		chans := make([]*yamux.Stream, n)
		for i := range chans {
			chans[i] = open()
		}
		chunk := filled(sz.WriteSize)
		var mu sync.Mutex
		done := []float64{}
		var loaded int32 = 1
		var wg sync.WaitGroup
		cpu0 := cpuMs()
		t0 := time.Now()
		for _, s := range chans {
			wg.Add(1)
			go func(s *yamux.Stream) {
				defer wg.Done()
				pour(s, bytes, chunk)
				ack(s)
				mu.Lock()
				done = append(done, ms(time.Since(t0)))
				loaded = 0
				mu.Unlock()
				s.Close()
			}(s)
		}
		samples := []float64{}
		if workload == "hol" {
			for {
				mu.Lock()
				l := loaded
				mu.Unlock()
				if l == 0 {
					break
				}
				st := time.Now()
				round()
				samples = append(samples, float64(time.Since(st).Nanoseconds())/1000)
			}
		}
		wg.Wait()
		cpu := cpuMs() - cpu0
		sort.Float64s(done)
		first, last := done[0], done[len(done)-1]
		mib := float64(n*bytes) / (1 << 20) / (last / 1000)
		if workload == "bulk64" {
			result(map[string]float64{"mibps": mib, "fairness": first / last, "firstMs": first, "lastMs": last})
			return
		}
		echo.Close()
		sort.Float64s(samples)
		result(map[string]float64{
			"p50us": percentile(samples, 50), "p99us": percentile(samples, 99), "maxUs": samples[len(samples)-1],
			"rounds": float64(len(samples)), "mibps": mib, "firstMs": first, "lastMs": last, "openerCpuMs": cpu,
		})
	case "open":
		payload := filled(sz.OpenPayload)
		var mu sync.Mutex
		started := 0
		var wg sync.WaitGroup
		t0 := time.Now()
		lanes := sz.OpenInFlight
		if lanes > sz.OpenChannels {
			lanes = sz.OpenChannels
		}
		for l := 0; l < lanes; l++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, len(payload))
				for {
					mu.Lock()
					if started >= sz.OpenChannels {
						mu.Unlock()
						return
					}
					started++
					mu.Unlock()
					s := open()
					_, err := s.Write(payload)
					check(err)
					check(readN(s, buf, len(payload)))
					s.Close()
				}
			}()
		}
		wg.Wait()
		d := ms(time.Since(t0))
		result(map[string]float64{"chps": float64(sz.OpenChannels) / (d / 1000), "ms": d})
	case "rtt":
		s := open()
		msg := filled(sz.RttPayload)
		buf := make([]byte, len(msg))
		samples := make([]float64, 0, sz.RttRounds)
		for i := -sz.RttWarmup; i < sz.RttRounds; i++ {
			st := time.Now()
			_, err := s.Write(msg)
			check(err)
			check(readN(s, buf, len(msg)))
			if i >= 0 {
				samples = append(samples, float64(time.Since(st).Nanoseconds())/1000)
			}
		}
		s.Close()
		sum := 0.0
		for _, x := range samples {
			sum += x
		}
		sort.Float64s(samples)
		result(map[string]float64{"p50us": percentile(samples, 50), "p99us": percentile(samples, 99), "meanUs": sum / float64(len(samples))})
	case "idle":
		baseHeap, baseRss := settled()
		held := make([]*yamux.Stream, 0, sz.IdleChannels)
		for i := 0; i < sz.IdleChannels; i++ {
			s := open()
			held = append(held, s)
			go func() { io.Copy(io.Discard, s) }()
		}
		send(map[string]interface{}{"t": "opened"})
		<-measure
		h, r := settled()
		k := float64(len(held))
		result(map[string]float64{"openerHeap": (h - baseHeap) / k, "openerRss": (r - baseRss) / k})
	default:
		fail(fmt.Errorf("unknown workload %s", workload))
	}
}

// profileCPU starts a CPU profile to $BENCH_CPU_PROFILE_DIR/<role>.pprof when that is set; the function it returns
// ends the profile (if any) and exits 0.
func profileCPU(role string) func() {
	dir := os.Getenv("BENCH_CPU_PROFILE_DIR")
	if dir == "" {
		return func() { os.Exit(0) }
	}
	f, err := os.Create(filepath.Join(dir, role+".pprof"))
	check(err)
	check(pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(0)
	}
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: benchpeer acceptor|opener go-yamux <workload> <params-json> [port]")
		os.Exit(2)
	}
	var params struct {
		Sizes sizes `json:"sizes"`
	}
	if err := json.Unmarshal([]byte(os.Args[4]), &params); err != nil {
		fmt.Fprintln(os.Stderr, "bad params:", err)
		os.Exit(2)
	}
	role, workload := os.Args[1], os.Args[3]
	exit := profileCPU(role)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var m struct {
				T string `json:"t"`
			}
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			switch m.T {
			case "measure":
				measure <- struct{}{}
			case "stop":
				exit()
			}
		}
		exit()
	}()
	if role == "acceptor" {
		acceptor(workload, params.Sizes)
		select {} // the session ended: wait for stop
	}
	if len(os.Args) < 6 {
		fail(fmt.Errorf("opener needs a port"))
	}
	opener(workload, params.Sizes, os.Args[5])
	select {}
}
