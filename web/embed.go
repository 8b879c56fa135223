// Package web holds protolearn's web app: its sources (src/, built with `make web`) and the
// built assets (dist/, committed), which protolearnd web serves.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets are the built app's files (index.html at the root).
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time: a missing one fails the build, not here
	}
	return sub
}
