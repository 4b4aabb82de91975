package btc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// RPC is a client of a Bitcoin node's JSON-RPC interface (Bitcoin Core or
// btcd). It uses only calls both offer.
type RPC struct {
	// URL is the node's address as messages name it: without a password
	// the address itself may carry (http://user:pass@host).
	URL        string
	endpoint   string // the address requests go to
	auth       atomic.Pointer[credentials]
	cookieFile string // where auth came from, read again when the node refuses it
	client     *http.Client
	id         atomic.Uint64
	busyWait   time.Duration // the first wait after a busy reply (busyTries)
}

// busyTries is how many times a call is sent while the node answers HTTP
// 503: Bitcoin Core does when its queue of RPC work is full ("Work queue
// depth exceeded", -rpcworkqueue), which other clients of a shared node can
// cause at any moment. The waits double from busyWait: 0.1 s to 3.2 s, 6.3
// s in all.
const busyTries = 7

// ErrRefused is a node refusing the credentials given.
var ErrRefused = errors.New("btc: the node refused the credentials")

// ErrUnanswered is a call the node did not answer: it could not be
// reached, the connection failed or timed out, the reply was not JSON-RPC
// (a proxy's error page, Bitcoin Core's busy queue), or the cookie could
// not be read after a refusal. A node restarting does all of these, and may
// answer later; errors.Is finds it in such an error.
var ErrUnanswered = errors.New("btc: the node did not answer")

type unanswered struct{ error }

func (u unanswered) Unwrap() error        { return u.error }
func (u unanswered) Is(target error) bool { return target == ErrUnanswered }

// RPCError is an error the node returned for a call.
type RPCError struct {
	Method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("btc: rpc %s: node error %d: %s", e.Method, e.Code, e.Message)
}

type credentials struct{ user, pass string }

// NewRPC returns a client for the node at url. With a cookie file (Bitcoin
// Core's .cookie, "user:password"), user and pass are read from it, and
// read again whenever the node refuses them: Bitcoin Core writes a new
// cookie each time it starts, and a follower outlives its restarts.
func NewRPC(url, user, pass, cookieFile string) (*RPC, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = "http://" + url
	}
	c := &RPC{URL: redacted(url), endpoint: url, cookieFile: cookieFile, client: &http.Client{Timeout: 2 * time.Minute}, busyWait: 100 * time.Millisecond}
	c.auth.Store(&credentials{user, pass})
	if cookieFile != "" {
		if _, err := c.readCookie(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// credentialsUsed says where the credentials a refusal refused came from.
func (c *RPC) credentialsUsed() string {
	a := c.auth.Load()
	switch {
	case c.cookieFile != "":
		return "credentials from the cookie " + c.cookieFile
	case a.user != "" || a.pass != "":
		return fmt.Sprintf("user %q", a.user)
	case strings.Contains(c.URL, "@"):
		return "credentials in the address"
	}
	return "no credentials given: --rpc-user and --rpc-pass, or --rpc-cookie"
}

// readCookie reads the cookie file into c.auth.
func (c *RPC) readCookie() (*credentials, error) {
	b, err := os.ReadFile(c.cookieFile)
	if err != nil {
		return nil, fmt.Errorf("btc: rpc cookie: %w", err)
	}
	u, p, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return nil, fmt.Errorf("btc: rpc cookie %s: want user:password", c.cookieFile)
	}
	a := &credentials{u, p}
	c.auth.Store(a)
	return a, nil
}

// coreDirs is the directory of each network's files under Bitcoin Core's
// data directory ("" for main, which keeps them at the top); btcd's simnet
// has none.
var coreDirs = map[string]string{"main": "", "test": "testnet3", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest"}

// CoreCookie is where Bitcoin Core keeps its cookie for network n in the
// default data directory under home (~/.bitcoin/.cookie, or
// ~/.bitcoin/testnet3/.cookie and the like), where bitcoin-cli looks for
// it too; "" for a network Bitcoin Core does not run.
func CoreCookie(home string, n *Network) string {
	dir, ok := coreDirs[n.Name]
	if !ok || home == "" {
		return ""
	}
	return filepath.Join(home, ".bitcoin", dir, ".cookie")
}

// CookieIn is where Bitcoin Core keeps its cookie for network n in the data
// directory dir (dir/.cookie, or dir/testnet3/.cookie and the like), for a
// --rpc-cookie given as the directory ("" for a network Core does not run).
func CookieIn(dir string, n *Network) string {
	sub, ok := coreDirs[n.Name]
	if !ok {
		return ""
	}
	return filepath.Join(dir, sub, ".cookie")
}

// CoreURL completes a node address given as bitcoin-cli takes one, a host
// with or without a port: http://, and Bitcoin Core's RPC port for network
// n when none is given. A URL (http://..., https://...) is taken as it is:
// without a port it means the scheme's, as behind a proxy.
func CoreURL(address string, n *Network) (string, error) {
	if scheme, _, ok := strings.Cut(address, "://"); ok && scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("node address %q: want an http:// or https:// URL, or a host[:port]", address)
	}
	full := address
	if !strings.HasPrefix(address, "http://") && !strings.HasPrefix(address, "https://") {
		full = "http://" + address
	}
	u, err := neturl.Parse(full)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("node address %q: not a URL or host[:port]", address)
	}
	if full == address {
		return address, nil // a URL as it is: no port is the scheme's
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), n.DefaultPort)
	}
	return u.String(), nil
}

// redacted is address with the password it carries, if any, replaced.
func redacted(address string) string {
	u, err := neturl.Parse(address)
	if err != nil {
		return address
	}
	return u.Redacted()
}

// Call invokes method with params and decodes the result into out. A node
// too busy to take the call (HTTP 503) is asked again, after a wait.
func (c *RPC) Call(ctx context.Context, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": c.id.Add(1), "method": method, "params": params})
	if err != nil {
		return err
	}
	var status int
	var data []byte
	wait := c.busyWait
	renewed := false
	for try := 1; ; try++ {
		sent := c.auth.Load()
		if status, data, err = c.post(ctx, method, body, sent); err != nil {
			return err
		}
		if status == http.StatusUnauthorized && c.cookieFile != "" && !renewed {
			// The node may have restarted with a new cookie: send the
			// call again once if the file holds other credentials than
			// the call carried (another call may have read it already).
			renewed = true
			now, err := c.readCookie()
			if err != nil {
				return unanswered{fmt.Errorf("%w (after HTTP 401 from %s)", err, c.URL)}
			}
			if *now != *sent {
				try--
				continue
			}
		}
		if status != http.StatusServiceUnavailable || try == busyTries {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("btc: rpc %s: %w", method, ctx.Err())
		}
		wait *= 2
	}
	return c.decode(method, status, data, out)
}

// post sends one call with credentials a and returns the reply's status
// and body.
func (c *RPC) post(ctx context.Context, method string, body []byte, a *credentials) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("btc: rpc %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.user != "" || a.pass != "" {
		req.SetBasicAuth(a.user, a.pass)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, unanswered{fmt.Errorf("btc: rpc %s: cannot reach node at %s: %w", method, c.URL, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, unanswered{fmt.Errorf("btc: rpc %s: reading reply: %w", method, err)}
	}
	return resp.StatusCode, data, nil
}

// decode reads a reply into out.
func (c *RPC) decode(method string, status int, data []byte, out any) error {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("%w: rpc %s: node at %s (HTTP %d; %s)", ErrRefused, method, c.URL, status, c.credentialsUsed())
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		snippet := string(data)
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		return unanswered{fmt.Errorf("btc: rpc %s: HTTP %d, not a JSON-RPC reply: %q", method, status, snippet)}
	}
	if reply.Error != nil {
		reply.Error.Method = method
		return reply.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Result, out); err != nil {
		return fmt.Errorf("btc: rpc %s: result: %w", method, err)
	}
	return nil
}

// ChainInfo is the part of getblockchaininfo spur uses.
type ChainInfo struct {
	Chain         string `json:"chain"`
	Blocks        int64  `json:"blocks"`
	BestBlockHash string `json:"bestblockhash"`
	Pruned        bool   `json:"pruned"`
	PruneHeight   int64  `json:"pruneheight"` // the lowest height whose block the node still has, when pruned
}

// ChainInfo calls getblockchaininfo, falling back to getblockcount for nodes
// without it.
func (c *RPC) ChainInfo(ctx context.Context) (ChainInfo, error) {
	var info ChainInfo
	err := c.Call(ctx, "getblockchaininfo", &info)
	var rerr *RPCError
	if errors.As(err, &rerr) && rerr.Code == -32601 {
		err = c.Call(ctx, "getblockcount", &info.Blocks)
	}
	return info, err
}

// BlockHash calls getblockhash.
func (c *RPC) BlockHash(ctx context.Context, height int64) (Hash, error) {
	var s string
	if err := c.Call(ctx, "getblockhash", &s, height); err != nil {
		return Hash{}, err
	}
	h, err := parseHash(s)
	if err != nil {
		return Hash{}, fmt.Errorf("btc: rpc getblockhash %d: %w", height, err)
	}
	return h, nil
}

// RawBlock calls getblock with verbosity 0 and returns the block's bytes.
func (c *RPC) RawBlock(ctx context.Context, hash Hash) ([]byte, error) {
	return c.raw(ctx, "getblock", hash)
}

// raw calls method with a hash and verbosity 0, and returns the bytes the
// hex it answers holds.
func (c *RPC) raw(ctx context.Context, method string, hash Hash) ([]byte, error) {
	var s string
	if err := c.Call(ctx, method, &s, hash.String(), 0); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: rpc %s %s: %v", ErrCorrupt, method, hash, err)
	}
	return b, nil
}

// RawMempool calls getrawmempool: the txids of the transactions the node
// holds for its next blocks.
func (c *RPC) RawMempool(ctx context.Context) ([]Hash, error) {
	var ss []string
	if err := c.Call(ctx, "getrawmempool", &ss); err != nil {
		return nil, err
	}
	out := make([]Hash, 0, len(ss))
	for _, s := range ss {
		h, err := parseHash(s)
		if err != nil {
			return nil, fmt.Errorf("btc: rpc getrawmempool: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}

// RawTransaction calls getrawtransaction (not verbose) and returns the
// transaction's bytes: one in the node's mempool, or, with its
// transaction index, in a block.
func (c *RPC) RawTransaction(ctx context.Context, txid Hash) ([]byte, error) {
	return c.raw(ctx, "getrawtransaction", txid)
}

func parseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash %q is not 64 hex digits", s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("hash %q: %v", s, err)
	}
	for i := range 32 {
		h[i] = b[31-i]
	}
	return h, nil
}

// ParseHash parses a hash printed in the usual reversed hex form, in either
// case, spaces around it ignored.
func ParseHash(s string) (Hash, error) {
	h, err := parseHash(strings.TrimSpace(s))
	if err != nil {
		return h, fmt.Errorf("btc: %w", err)
	}
	return h, nil
}
