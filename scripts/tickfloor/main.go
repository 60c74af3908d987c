// Command tickfloor measures what the least a Go process can spend per tick
// costs on this machine when it does what a node does for one surface with a
// player acting every tick, and nothing else: at 60 ticks a second it receives
// the player's input over loopback TCP, appends a record to a file and
// fdatasyncs it (the tick made durable), and sends the tick to the player. It
// runs the player as a second process, so that only the server's CPU is counted,
// and prints the server's CPU per tick (its threads' time from getrusage) with
// and without the fdatasync.
//
//	go run ./scripts/tickfloor [-seconds 10]
//
// It is the floor under BenchmarkNodeDensity's figure for one surface with
// inputs (docs/benchmarks.md, "Player inputs on few surfaces").
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	seconds := flag.Int("seconds", 10, "length of each measured run")
	player := flag.String("player", "", "run as the player, connecting to this address")
	flag.Parse()
	if *player != "" {
		play(*player)
		return
	}
	for _, sync := range []bool{true, false} {
		perTick, ticks, err := serve(*seconds, sync)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tickfloor:", err)
			os.Exit(1)
		}
		fmt.Printf("fdatasync %-5v  %d ticks  server CPU %.3f ms a tick\n", sync, ticks, perTick)
	}
}

// play echoes every tick frame back as an input, as a lockstep player acting
// every tick does.
func play(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		os.Exit(1)
	}
	r := bufio.NewReader(c)
	in := make([]byte, 64)
	buf := make([]byte, 128)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
		if _, err := c.Write(in); err != nil {
			return
		}
	}
}

func serve(seconds int, sync bool) (float64, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(self, "-player", ln.Addr().String())
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer cmd.Wait()
	conn, err := ln.Accept()
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	dir, err := os.MkdirTemp("", "tickfloor")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	// The player's inputs are read on their own goroutine, as a gRPC server
	// reads a stream, and handed to the tick loop.
	inputs := make(chan struct{}, 16)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			select {
			case inputs <- struct{}{}:
			default:
			}
		}
	}()
	rec, frame := make([]byte, 200), make([]byte, 128)
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	var start syscall.Rusage
	ticks, warm := 0, 60
	for ticks < warm+60*seconds {
		<-tick.C
		select {
		case <-inputs:
		default:
		}
		if _, err := f.Write(rec); err != nil {
			return 0, 0, err
		}
		if sync {
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				return 0, 0, err
			}
		}
		if _, err := conn.Write(frame); err != nil {
			return 0, 0, err
		}
		ticks++
		if ticks == warm {
			syscall.Getrusage(syscall.RUSAGE_SELF, &start)
		}
	}
	var end syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &end)
	cpu := time.Duration(end.Utime.Nano() + end.Stime.Nano() - start.Utime.Nano() - start.Stime.Nano())
	n := ticks - warm
	return float64(cpu.Microseconds()) / 1000 / float64(n), n, nil
}
