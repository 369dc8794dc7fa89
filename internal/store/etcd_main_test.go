package store_test

import (
	"os"
	"testing"

	"gatehouse/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}
