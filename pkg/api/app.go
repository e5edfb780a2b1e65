package api

import "time"

// App is an application: the unit that revisions, deployment groups and deployments belong to.
type App struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// AppCreateRequest is the body of POST /v1/apps. Name is 1-100 characters of [A-Za-z0-9._-].
type AppCreateRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// AppUpdateRequest is the body of PUT /v1/apps/{name}: the application's new description.
type AppUpdateRequest struct {
	Description string `json:"description"`
}

// AppList is the answer of GET /v1/apps.
type AppList struct {
	Apps []App  `json:"apps"`
	Next string `json:"next,omitempty"`
}
