package store

// Setting reads the named setting into v; it reports whether it was set.
func (t *Tx) Setting(name string, v any) (bool, error) {
	return getJSON(t.b(bucketSettings), []byte(name), v)
}

// PutSetting stores the named setting.
func (t *Tx) PutSetting(name string, v any) error {
	return putJSON(t.b(bucketSettings), []byte(name), v)
}
