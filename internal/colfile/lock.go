package colfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A store directory is locked with flock(2) on three files:
//
//   - LOCK: exclusive while a writer writes, shared by readers. The writer
//     writes its pid here, followed by " shares" when it lets readers in
//     between its writes (a follower at a node's tip: see Lock.Share), and
//     " shares wants" while it waits for them to let it write (Take): new
//     readers then wait, so that a stream of them cannot starve it.
//   - WRITER: exclusive for the whole life of a writer, so that a second
//     writer is refused even while the first shares LOCK with readers.
//   - READERS: shared by readers waiting for a sharing writer's write to end;
//     the writer, finding it held, lets them in after its next commit.
//
// A Lock holds one side of them.
type Lock struct {
	lock    *os.File // LOCK
	writer  *os.File // WRITER; nil for a reader
	readers *os.File // READERS, a writer's, to see whether readers wait
	shared  bool     // a writer holding LOCK shared (Share)
	said    string   // what the writer wrote in LOCK
}

// LockDir takes the lock of a store directory for a writer: WRITER and
// LOCK exclusive. It fails with locked, wrapped with the directory and the
// holder, while another writer or any reader holds them.
func LockDir(dir string, locked error) (*Lock, error) {
	open := func(name string) (*os.File, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return f, nil
	}
	l := &Lock{}
	var err error
	if l.lock, err = open("LOCK"); err != nil {
		return nil, err
	}
	refuse := func() (*Lock, error) {
		b, _ := io.ReadAll(l.lock)
		l.Close()
		return nil, fmt.Errorf("%w: %s (%s)", locked, dir, holder(b))
	}
	if l.writer, err = open("WRITER"); err != nil {
		l.Close()
		return nil, err
	}
	if unix.Flock(int(l.writer.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return refuse()
	}
	if unix.Flock(int(l.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return refuse()
	}
	if l.readers, err = open("READERS"); err != nil {
		l.Close()
		return nil, err
	}
	l.write("")
	return l, nil
}

// write names the writer in LOCK, written over what was there and then cut
// to its length, so that a reader never finds it empty.
func (l *Lock) write(suffix string) {
	b := []byte(strconv.Itoa(os.Getpid()) + suffix + "\n")
	if l.said == string(b) {
		return
	}
	l.lock.WriteAt(b, 0)
	l.lock.Truncate(int64(len(b)))
	l.said = string(b)
}

// Close releases the lock.
func (l *Lock) Close() error {
	if l == nil {
		return nil
	}
	for _, f := range []*os.File{l.lock, l.writer, l.readers} {
		if f != nil {
			f.Close()
		}
	}
	return nil
}

// Offer says in LOCK that the writer lets readers in when they wait
// (ReadersWaiting, then Share), so that a reader that finds it writing
// waits for it instead of failing. Share says so too.
func (l *Lock) Offer() {
	if l != nil && l.writer != nil {
		l.write(" shares")
	}
}

// Share lets readers in: a writer between two writes holds LOCK shared,
// WRITER still exclusive. It must have made what it committed whole on disk
// first, as readers see it as it is.
func (l *Lock) Share() error {
	if l.writer == nil || l.shared {
		return nil
	}
	l.write(" shares")
	if err := unix.Flock(int(l.lock.Fd()), unix.LOCK_SH); err != nil {
		return fmt.Errorf("store: sharing the lock: %w", err)
	}
	l.shared = true
	return nil
}

// Take takes LOCK back from Share, exclusive, waiting while readers hold
// it; waiting is called once if that takes longer than a second. Only
// readers can hold it meanwhile: WRITER keeps other writers out.
func (l *Lock) Take(ctx context.Context, waiting func()) error {
	if !l.shared {
		return nil
	}
	start := time.Now()
	told := false
	l.write(" shares wants")
	defer l.write(" shares")
	for unix.Flock(int(l.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		if !told && waiting != nil && time.Since(start) > time.Second {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	l.shared = false
	return nil
}

// LetIn lets the readers that wait for the writer in: it shares LOCK until
// they have it (they poll for it; a second at most), then takes it back,
// waiting for them to end as Take does.
func (l *Lock) LetIn(ctx context.Context, waiting func()) error {
	if err := l.Share(); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Second); l.ReadersWaiting() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return l.Take(ctx, waiting)
}

// Shared says whether the writer holds LOCK shared (Share) and must Take
// it before writing.
func (l *Lock) Shared() bool { return l != nil && l.shared }

// ReadersWaiting says whether readers wait for the writer to Share.
func (l *Lock) ReadersWaiting() bool {
	if l == nil || l.readers == nil {
		return false
	}
	fd := int(l.readers.Fd())
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return true
	}
	unix.Flock(fd, unix.LOCK_UN)
	return false
}

// ReaderWait is how long a reader waits for a sharing writer (Share) to let
// it in: the writer does after each block it commits, so only a long
// unwind or clustering pass makes a reader wait this long.
var ReaderWait = time.Minute

// ShareDir takes the lock of a store directory shared, for a reader that
// writes nothing: no writer writes meanwhile. A writer that shares its lock
// between writes (a follower) lets the reader in after its write, which it
// waits for, up to ReaderWait; any other writer fails it at once with
// locked, wrapped with the directory and the holder. A directory without
// its LOCK file (a copy made without it) gives a nil Lock and no error.
func ShareDir(dir string, locked error) (*Lock, error) {
	f, err := os.Open(filepath.Join(dir, "LOCK"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var waiting *os.File
	defer func() {
		if waiting != nil {
			waiting.Close()
		}
	}()
	start := time.Now()
	for {
		b, _ := io.ReadAll(io.NewSectionReader(f, 0, 64))
		// A writer that wants the lock back goes first.
		if !wants(b) && unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
			break
		}
		// A line not there whole is being rewritten: read it again.
		if _, whole := lockLine(b); whole && !shares(b) || time.Since(start) > ReaderWait {
			f.Close()
			why := holder(b)
			if shares(b) {
				why += fmt.Sprintf(", which did not let readers in for %s", ReaderWait)
			}
			return nil, fmt.Errorf("%w: %s (%s)", locked, dir, why)
		}
		if waiting == nil {
			// Say so, where READERS can be opened: the writer lets readers
			// in after its next commit rather than when it next idles.
			if r, err := os.Open(filepath.Join(dir, "READERS")); err == nil {
				if unix.Flock(int(r.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
					waiting = r
				} else {
					r.Close()
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &Lock{lock: f}, nil
}

// lockLine is LOCK's first line, which the writer ends with a newline;
// ok is false while it is not there whole (being rewritten: the writer
// writes over the old text, then cuts it).
func lockLine(lockFile []byte) (line string, ok bool) {
	line, _, ok = strings.Cut(string(lockFile), "\n")
	return line, ok
}

// shares says whether LOCK names a live writer that shares it (Share):
// "PID shares", or "PID shares wants" while it waits to take it back.
func shares(lockFile []byte) bool {
	line, _ := lockLine(lockFile)
	pid, suffix, ok := strings.Cut(line, " ")
	if !ok || suffix != "shares" && suffix != "shares wants" {
		return false
	}
	n, err := strconv.Atoi(pid)
	return err == nil && n > 0 && unix.Kill(n, 0) != unix.ESRCH
}

// wants says whether LOCK names a live sharing writer waiting to take it
// back (Take).
func wants(lockFile []byte) bool {
	line, _ := lockLine(lockFile)
	return strings.HasSuffix(line, " shares wants") && shares(lockFile)
}

// holder names who holds a store's lock, from its LOCK file: the pid a
// writer wrote there, while that process lives. Readers, who share the
// lock, write nothing (they may not be able to), so a dead writer's pid
// means readers hold it.
func holder(lockFile []byte) string {
	line, _ := lockLine(lockFile)
	pid, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	n, err := strconv.Atoi(pid)
	if err == nil && n > 0 && unix.Kill(n, 0) != unix.ESRCH {
		if cmd := command(n); cmd != "" {
			return fmt.Sprintf("pid %d: %s", n, cmd)
		}
		return fmt.Sprintf("pid %d", n)
	}
	return "by readers: queries or a server"
}

// command names what process pid runs, where /proc tells: its program and
// the words before its first flag ("spur follow btc"), never the flags,
// which may hold a password.
func command(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return ""
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	words := []string{filepath.Base(args[0])}
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") || len(words) == 4 {
			break
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// IsLockFile says whether name is one of the lock files LockDir makes.
func IsLockFile(name string) bool {
	return name == "LOCK" || name == "WRITER" || name == "READERS"
}

// WriterOf says whether a writer holds the store directory dir (its
// WRITER file), sharing it or not, and names it: a reader that would hold
// the store for long (a server) refuses to keep a follower from writing.
func WriterOf(dir string) (string, bool) {
	f, err := os.Open(filepath.Join(dir, "WRITER"))
	if err != nil {
		return "", false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
		return "", false
	}
	b, _ := os.ReadFile(filepath.Join(dir, "LOCK"))
	return holder(b), true
}
