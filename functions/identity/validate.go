package identity

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley/events"
)

// Limits of API.md.
const (
	usernameMin    = 3
	usernameMax    = 32
	passwordMin    = 8
	passwordMax    = 128
	displayNameMax = 64
	avatarURLMax   = 2048
)

var (
	usernameChars = regexp.MustCompile(`^[a-z0-9_.]+$`)
	roleName      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

func validUsername(s string) error {
	if s == "" {
		return events.Invalid("username", "is required")
	}
	if n := len(s); n < usernameMin || n > usernameMax {
		return events.Invalid("username", "must be %d to %d characters", usernameMin, usernameMax)
	}
	if !usernameChars.MatchString(s) {
		return events.Invalid("username", "may contain only a-z, 0-9, _ and .")
	}
	return nil
}

func validPassword(s string) error {
	if s == "" {
		return events.Invalid("password", "is required")
	}
	if n := utf8.RuneCountInString(s); !utf8.ValidString(s) || n < passwordMin || n > passwordMax {
		return events.Invalid("password", "must be %d to %d characters", passwordMin, passwordMax)
	}
	return nil
}

func validDisplayName(s string) error {
	if utf8.RuneCountInString(s) > displayNameMax {
		return events.Invalid("display_name", "must be at most %d characters", displayNameMax)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return events.Invalid("display_name", "must not contain control characters")
		}
	}
	return nil
}

func validAvatarURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > avatarURLMax {
		return events.Invalid("avatar_url", "must be at most %d characters", avatarURLMax)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return events.Invalid("avatar_url", "must be an http(s) URL")
	}
	return nil
}

// normalizeDisplayName trims it and defaults an empty one to the username.
func normalizeDisplayName(s, username string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return username
	}
	return s
}
