package wal

import (
	"os"
	"syscall"
)

// fdatasync flushes the file's data (and its size), not its other metadata.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
