package session

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// zipEpoch is every zip entry's modification time: the same files make the same zip, so an
// upload repeated after an agent restart stores nothing new (uploads are content-addressed).
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// ZipDir writes the files under dir into a zip at dst, in path order, with fixed times: the same
// tree makes the same bytes. Symbolic links (kept by the artifact's enable-symlinks) are stored
// as links. It returns the number of files and the zip's sha256 and size.
func ZipDir(dir, dst string) (files int, sum string, size int64, err error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", 0, err
	}
	h := sha256.New()
	counter := &countWriter{w: io.MultiWriter(out, h)}
	zw := zip.NewWriter(counter)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipEpoch}
		switch {
		case d.IsDir():
			hdr.Name += "/"
			hdr.Method = zip.Store
			hdr.SetMode(fs.ModeDir | 0o755)
			_, err := zw.CreateHeader(hdr)
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Method = zip.Store
			hdr.SetMode(fs.ModeSymlink | 0o777)
			w, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, filepath.ToSlash(target))
			files++
			return err
		case info.Mode().IsRegular():
			hdr.SetMode(info.Mode().Perm())
			w, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, f)
			_ = f.Close()
			files++
			return err
		}
		return nil // nothing else is collected into an artifact
	})
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", 0, err
	}
	return files, hex.EncodeToString(h.Sum(nil)), counter.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// uploadRounds is how many times an upload goes through the server list before it fails.
const uploadRounds = 3

// UploadArtifact sends the zip at file with PUT artifactsPath/name to any server, trying each
// in turn, and the list again up to uploadRounds times with a pause between rounds. A server's
// refusal (4xx: the build is no longer in progress on this host, too big) ends it at once. The
// answer's sha256 must be the file's.
func (f *Fetcher) UploadArtifact(ctx context.Context, artifactsPath, name, file, sum string) (agentproto.BuildArtifactUploaded, error) {
	var up agentproto.BuildArtifactUploaded
	urlPath := artifactsPath + "/" + url.PathEscape(name)
	err := f.eachServer(ctx, func(srv string) error {
		body, err := os.Open(file)
		if err != nil {
			return err
		}
		defer func() { _ = body.Close() }()
		resp, err := f.request(ctx, srv, http.MethodPut, urlPath, body, "application/zip")
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		up = agentproto.BuildArtifactUploaded{}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&up); err != nil {
			return fmt.Errorf("%s: bad answer to the upload: %w", srv, err)
		}
		if up.SHA256 != sum {
			return fmt.Errorf("%s stored the artifact as sha256 %s, the zip is %s", srv, up.SHA256, sum)
		}
		return nil
	})
	if err != nil {
		return up, fmt.Errorf("upload artifact %s: %w", name, err)
	}
	return up, nil
}

// maxSecretsReply bounds the answer to a secrets request.
const maxSecretsReply = 16 << 20

// BuildSecrets asks any server for the values of names with POST secretsPath (the server reads
// them under the build's service role, and answers only while the build is in progress on this
// host). Every name must be answered.
func (f *Fetcher) BuildSecrets(ctx context.Context, secretsPath string, names []string) (map[string]string, error) {
	req, err := json.Marshal(agentproto.BuildSecretsRequest{Names: names})
	if err != nil {
		return nil, err
	}
	var reply agentproto.BuildSecretsReply
	err = f.eachServer(ctx, func(srv string) error {
		resp, err := f.request(ctx, srv, http.MethodPost, secretsPath, bytes.NewReader(req), "application/json")
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		reply = agentproto.BuildSecretsReply{}
		return json.NewDecoder(io.LimitReader(resp.Body, maxSecretsReply)).Decode(&reply)
	})
	if err != nil {
		return nil, fmt.Errorf("fetch the build's secrets: %w", err)
	}
	for _, n := range names {
		if _, ok := reply.Values[n]; !ok {
			return nil, fmt.Errorf("fetch the build's secrets: the server gave no value for %q", n)
		}
	}
	return reply.Values, nil
}

// eachServer calls try with each server in turn until one succeeds, going through the list up
// to uploadRounds times; a *refusedError or ctx's end stops at once.
func (f *Fetcher) eachServer(ctx context.Context, try func(srv string) error) error {
	var errs []error
	pause := time.Second
	for round := 0; round < uploadRounds; round++ {
		if round > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(append(errs, ctx.Err())...)
			case <-time.After(pause):
			}
			pause *= 2
		}
		for _, srv := range f.Servers() {
			err := try(srv)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
			var re *refusedError
			if ctx.Err() != nil || errors.As(err, &re) {
				return errors.Join(errs...)
			}
		}
	}
	if len(errs) == 0 {
		return errors.New("no servers known")
	}
	return errors.Join(errs...)
}
