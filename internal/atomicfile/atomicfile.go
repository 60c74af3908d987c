// Package atomicfile writes files so that a reader, or a restart after a crash or
// a full disk, finds either the old content or the whole new one: never a
// half-written file, and no temporary file left behind on failure.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes data to path atomically with mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc writes what fn writes to path atomically: into a temporary file in the
// same directory, synced to disk, then renamed over path, and the directory
// synced so the rename is durable too. On any error path is left as it was and
// the temporary file is removed.
//
// A symlink is followed: the file it names is replaced, and the link kept. A
// path that is neither a regular file nor missing (a device such as /dev/null
// or /dev/stdout, a FIFO) is written into as it is, since replacing it would
// delete it; a directory is refused.
func WriteFunc(path string, perm os.FileMode, fn func(w io.Writer) error) (err error) {
	to, fi, err := resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if fi != nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(to, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	path = to
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fn(f); err != nil {
		return err // the writer's own error says what failed
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is done; a directory that cannot be synced (some file systems
	// refuse) does not make the write fail.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// CheckWritable says now, before a long download or run, whether WriteFunc
// could write path: a new file can be made where it would go, or it is a device
// or FIFO, which is written into as it is.
func CheckWritable(path string) error {
	to, fi, err := resolve(path)
	if err != nil {
		return err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// resolve follows path's symlinks to what a write goes to, with what is there
// (nil: nothing yet). A directory is an error.
func resolve(path string) (string, os.FileInfo, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.IsDir() {
			return "", nil, errors.New("it is a directory; give a file name")
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return path, fi, nil
		}
		t, err := os.Readlink(path)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(path), t)
		}
		path = t
	}
	return "", nil, errors.New("too many levels of symbolic links")
}
