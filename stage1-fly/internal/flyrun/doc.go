// Package flyrun is fly's run entrypoint: it parses the argv that stage0
// passes, lays out the app rootfs with package mountplan,
// writes the pid files, and replaces itself with the app.
package flyrun
