package ui

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/personaregistry/personas/registry"
)

// problemsData is the problems page.
type problemsData struct {
	Problems []registry.Problem
}

func (u *UI) problems(req *request) error {
	u.render(req, http.StatusOK, "problems", "Problems", problemsData{Problems: req.viewer.problems(req.snap.Problems)})
	return nil
}

// headInfo is what an open page polls to announce new commits.
type headInfo struct {
	Head     string    `json:"head"`
	Short    string    `json:"short"`
	Time     time.Time `json:"time"`
	Problems int       `json:"problems"`
}

// head answers the served head as JSON.
func (u *UI) head(req *request) error {
	req.w.Header().Set("Content-Type", "application/json")
	req.w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(req.w).Encode(headInfo{Head: req.snap.Head, Short: short(req.snap.Head),
		Time: req.snap.HeadTime.UTC(), Problems: len(req.viewer.problems(req.snap.Problems))})
}
