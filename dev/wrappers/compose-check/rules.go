package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
)

// The processes docker-compose.yml runs (README's docker-compose section).
var requiredServices = []string{"postgres", "temporal", "temporal-ui", "migrate", "api", "worker-orders", "worker-payments"}

// The services meant to be reached from other machines; every other published port names its host address.
var publicServices = map[string]bool{"api": true}

// Server 1.29.2 is the first release fixing CVE-2025-14986.
var minimumTemporalVersion = [3]int{1, 29, 2}

// checkProject applies the project's own rules and returns every broken one.
func checkProject(project *types.Project, dir string) []string {
	var problems []string
	problems = append(problems, checkRequiredServices(project)...)
	problems = append(problems, checkDependencies(project)...)
	problems = append(problems, checkOneShotJobs(project)...)
	problems = append(problems, checkPublishedPorts(project)...)
	problems = append(problems, checkImages(project)...)
	problems = append(problems, checkBindMounts(project)...)
	problems = append(problems, checkAppServices(project, dir)...)
	return problems
}

func checkRequiredServices(project *types.Project) []string {
	var problems []string
	for _, name := range requiredServices {
		if _, ok := project.Services[name]; !ok {
			problems = append(problems, fmt.Sprintf("service %q is missing", name))
		}
	}
	return problems
}

// checkDependencies: a service_healthy dependency needs a healthcheck of its own (an image's built-in
// one is invisible here), and a service_completed_successfully dependency must be a job that exits.
func checkDependencies(project *types.Project) []string {
	var problems []string
	for _, name := range sortedServiceNames(project) {
		for dependencyName, dependency := range project.Services[name].DependsOn {
			target, ok := project.Services[dependencyName]
			if !ok {
				continue // the consistency check already reported it
			}
			switch dependency.Condition {
			case types.ServiceConditionHealthy:
				if !hasHealthCheck(target) {
					problems = append(problems, fmt.Sprintf("%s waits for %s to be healthy, but %s defines no healthcheck", name, dependencyName, dependencyName))
				}
			case types.ServiceConditionCompletedSuccessfully:
				if target.Restart == types.RestartPolicyAlways || target.Restart == types.RestartPolicyUnlessStopped {
					problems = append(problems, fmt.Sprintf("%s waits for %s to complete, but %s restarts %q", name, dependencyName, dependencyName, target.Restart))
				}
			}
		}
	}
	return problems
}

// checkOneShotJobs: a job that others wait for (service_completed_successfully) retries with
// `restart: on-failure[:N]`, as Temporal's own compose files do, so that one transient connection
// failure does not fail `docker compose up`.
func checkOneShotJobs(project *types.Project) []string {
	jobs := map[string]bool{}
	for _, service := range project.Services {
		for dependencyName, dependency := range service.DependsOn {
			if dependency.Condition == types.ServiceConditionCompletedSuccessfully {
				jobs[dependencyName] = true
			}
		}
	}
	var problems []string
	for _, name := range sortedServiceNames(project) {
		if !jobs[name] {
			continue
		}
		if restart := project.Services[name].Restart; !strings.HasPrefix(restart, types.RestartPolicyOnFailure) {
			problems = append(problems, fmt.Sprintf("%s is a one-shot job others wait for, but restarts %q (use on-failure:N)", name, restart))
		}
	}
	return problems
}

// checkPublishedPorts: a published port names the host address it binds. Docker's default is every
// interface, which for Temporal (no authorizer) or PostgreSQL opens the stack to the whole network.
func checkPublishedPorts(project *types.Project) []string {
	var problems []string
	for _, name := range sortedServiceNames(project) {
		for _, port := range project.Services[name].Ports {
			if port.Published != "" && port.HostIP == "" && !publicServices[name] {
				problems = append(problems, fmt.Sprintf("%s publishes port %s on every interface; bind it to 127.0.0.1 (configurable)", name, port.Published))
			}
		}
	}
	return problems
}

func hasHealthCheck(service types.ServiceConfig) bool {
	check := service.HealthCheck
	return check != nil && !check.Disable && len(check.Test) > 0 && check.Test[0] != "NONE"
}

// checkImages: every image carries an explicit tag (not latest) or digest, and the Temporal server
// and its admin-tools are one release at or above minimumTemporalVersion.
func checkImages(project *types.Project) []string {
	var problems []string
	temporalTags := map[string]string{}
	for _, name := range sortedServiceNames(project) {
		image := project.Services[name].Image
		if image == "" {
			problems = append(problems, fmt.Sprintf("%s has no image name", name))
			continue
		}
		named, err := reference.ParseNormalizedNamed(image)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: image %q does not parse: %v", name, image, err))
			continue
		}
		tagged, hasTag := named.(reference.Tagged)
		_, hasDigest := named.(reference.Digested)
		switch {
		case !hasTag && !hasDigest:
			problems = append(problems, fmt.Sprintf("%s: image %q is not pinned (no tag or digest)", name, image))
		case hasTag && tagged.Tag() == "latest":
			problems = append(problems, fmt.Sprintf("%s: image %q uses the latest tag", name, image))
		}
		path := reference.Path(named)
		if hasTag && (path == "temporalio/server" || path == "temporalio/admin-tools") {
			temporalTags[path] = tagged.Tag()
		}
	}
	for path, tag := range temporalTags {
		if version, ok := parseVersion(tag); !ok || versionLess(version, minimumTemporalVersion) {
			problems = append(problems, fmt.Sprintf("%s:%s is older than %d.%d.%d (CVE-2025-14986) or not a release tag", path, tag, minimumTemporalVersion[0], minimumTemporalVersion[1], minimumTemporalVersion[2]))
		}
	}
	if server, admin := temporalTags["temporalio/server"], temporalTags["temporalio/admin-tools"]; server != "" && admin != "" && server != admin {
		problems = append(problems, fmt.Sprintf("temporalio/admin-tools:%s sets up the schema for temporalio/server:%s; use one release for both", admin, server))
	}
	return problems
}

var versionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)

func parseVersion(tag string) ([3]int, bool) {
	match := versionPattern.FindStringSubmatch(tag)
	if match == nil {
		return [3]int{}, false
	}
	var version [3]int
	for i := range version {
		version[i], _ = strconv.Atoi(match[i+1])
	}
	return version, true
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// checkBindMounts: Docker silently creates a missing bind-mount source as an empty directory.
func checkBindMounts(project *types.Project) []string {
	var problems []string
	for _, name := range sortedServiceNames(project) {
		for _, volume := range project.Services[name].Volumes {
			if volume.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(volume.Source); err != nil {
				problems = append(problems, fmt.Sprintf("%s mounts %s, which does not exist", name, relativeTo(project.WorkingDir, volume.Source)))
			}
		}
	}
	return problems
}

// checkAppServices covers the services that run this repository's image: the build context and
// Dockerfile exist, each command is the body of an npm script whose entry file exists, the Dockerfile's
// CMD is one too, and each process gets DATABASE_URL and TEMPORAL_ADDRESS naming services of this file.
func checkAppServices(project *types.Project, dir string) []string {
	var problems []string
	appImages := map[string]bool{}
	for _, name := range sortedServiceNames(project) {
		service := project.Services[name]
		if service.Build == nil {
			continue
		}
		appImages[service.Image] = true
		dockerfile := service.Build.Dockerfile
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(service.Build.Context, dockerfile)
		}
		if _, err := os.Stat(dockerfile); err != nil {
			problems = append(problems, fmt.Sprintf("%s builds from %s, which does not exist", name, relativeTo(project.WorkingDir, dockerfile)))
			continue
		}
		cmd, err := dockerfileCmd(dockerfile)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", relativeTo(project.WorkingDir, dockerfile), err))
		} else {
			problems = append(problems, checkScriptCommand(dir, "the Dockerfile's CMD", cmd)...)
		}
	}
	if len(appImages) == 0 {
		return append(problems, "no service builds the application image")
	}

	for _, name := range sortedServiceNames(project) {
		service := project.Services[name]
		if !appImages[service.Image] {
			continue
		}
		if len(service.Command) == 0 {
			problems = append(problems, fmt.Sprintf("%s runs the application image without a command", name))
		} else {
			problems = append(problems, checkScriptCommand(dir, name, service.Command)...)
		}
		problems = append(problems, checkEndpoint(project, name, service, "DATABASE_URL", databaseHost)...)
		problems = append(problems, checkEndpoint(project, name, service, "TEMPORAL_ADDRESS", addressHost)...)
	}

	if api, ok := project.Services["api"]; ok && (!hasHealthCheck(api) || !strings.Contains(strings.Join(api.HealthCheck.Test, " "), "/readyz")) {
		problems = append(problems, "api's healthcheck must probe /readyz")
	}
	return problems
}

// checkScriptCommand: a container command must be the body of an npm script (run without npm), run by node
// itself rather than tsx's CLI, and the files it names must exist.
func checkScriptCommand(dir, who string, command []string) []string {
	scripts, err := npmScripts(filepath.Join(dir, "package.json"))
	if err != nil {
		return []string{err.Error()}
	}
	line := strings.Join(command, " ")
	var matching []string
	for script, body := range scripts {
		// `exec` only makes npm's shell hand signals to the process; a container runs the command directly.
		if strings.Join(strings.Fields(strings.TrimPrefix(body, "exec ")), " ") == line {
			matching = append(matching, script)
		}
	}
	var problems []string
	if len(matching) == 0 {
		problems = append(problems, fmt.Sprintf("%s runs %q, which is no npm script's command in package.json", who, line))
	}
	// tsx's CLI runs the entry in a child and SIGKILLs it when it is slow to take a relayed SIGTERM: no clean stop.
	if len(command) > 0 && filepath.Base(command[0]) == "tsx" {
		problems = append(problems, fmt.Sprintf("%s runs tsx's CLI, which SIGKILLs a process slow to take a SIGTERM; run node --import tsx <entry>", who))
	}
	for _, arg := range command[1:] {
		if ext := filepath.Ext(arg); ext == ".ts" || ext == ".js" {
			if _, err := os.Stat(filepath.Join(dir, arg)); err != nil {
				problems = append(problems, fmt.Sprintf("%s runs %s, which does not exist", who, arg))
			}
		}
	}
	return problems
}

func npmScripts(path string) (map[string]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var manifest struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(content, &manifest); err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return manifest.Scripts, nil
}

// dockerfileCmd returns the last CMD of the Dockerfile, which must use the exec (JSON array) form.
func dockerfileCmd(path string) ([]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cmd string
	for _, line := range strings.Split(string(content), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && strings.EqualFold(fields[0], "CMD") {
			cmd = strings.TrimSpace(strings.TrimSpace(line)[len(fields[0]):])
		}
	}
	if cmd == "" {
		return nil, fmt.Errorf("no CMD")
	}
	var command []string
	if err := json.Unmarshal([]byte(cmd), &command); err != nil || len(command) == 0 {
		return nil, fmt.Errorf("CMD %s is not in exec form", cmd)
	}
	return command, nil
}

func checkEndpoint(project *types.Project, name string, service types.ServiceConfig, variable string, host func(string) (string, error)) []string {
	value := service.Environment[variable]
	if value == nil || *value == "" {
		return []string{fmt.Sprintf("%s does not set %s (the process would fall back to its local default)", name, variable)}
	}
	hostname, err := host(*value)
	if err != nil {
		return []string{fmt.Sprintf("%s: %s=%q does not parse: %v", name, variable, *value, err)}
	}
	if _, ok := project.Services[hostname]; !ok {
		return []string{fmt.Sprintf("%s: %s points at %q, which is no service of this file", name, variable, hostname)}
	}
	return nil
}

func databaseHost(value string) (string, error) {
	parsed, err := url.Parse(value)
	if err != nil {
		return "", err
	}
	return parsed.Hostname(), nil
}

func addressHost(value string) (string, error) {
	host, _, err := net.SplitHostPort(value)
	return host, err
}
