// Command compose-check validates docker-compose.yml (and files merged over it) without a Docker engine: it loads them with
// compose-go, the library behind `docker compose config` (interpolation, compose-spec schema,
// consistency), prints the resolved services in start order, then applies this project's own rules.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	projectDir := flag.String("project-dir", ".", "directory holding the compose file, Dockerfile and package.json")
	var composeFiles fileList
	flag.Var(&composeFiles, "file", "compose file, absolute or relative to -project-dir; repeated, later files merge over earlier ones as with `docker compose -f a -f b`")
	flag.Parse()
	if len(composeFiles) == 0 {
		composeFiles = fileList{"docker-compose.yml"}
	}

	dir, err := filepath.Abs(*projectDir)
	if err != nil {
		fail(err.Error())
	}
	shownFiles := make([]string, len(composeFiles))
	for i, file := range composeFiles {
		shownFiles[i] = relativeTo(dir, file)
	}
	shown := strings.Join(shownFiles, " + ")
	project, err := loadProject(context.Background(), dir, composeFiles)
	if err != nil {
		fail(fmt.Sprintf("%s is not a valid compose file: %v", shown, err))
	}
	fmt.Printf("%s: valid compose file, project %q\n", shown, project.Name)
	printServices(project)

	problems := checkProject(project, dir)
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "\n%s breaks %d project rule(s):\n", shown, len(problems))
		for _, problem := range problems {
			fmt.Fprintf(os.Stderr, "  - %s\n", problem)
		}
		os.Exit(1)
	}
	fmt.Println("project rules: all hold")
}

// loadProject resolves the file as `docker compose config` would: OS environment and .env for
// interpolation, schema validation, and the consistency check (undefined services, volumes, networks).
// Relative paths in the file resolve against dir, wherever the file itself lies.
func loadProject(ctx context.Context, dir string, composeFiles []string) (*types.Project, error) {
	paths := make([]string, len(composeFiles))
	for i, file := range composeFiles {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		paths[i] = file
	}
	options, err := cli.NewProjectOptions(
		paths,
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(ctx)
}

func printServices(project *types.Project) {
	fmt.Println("services, in start order:")
	for _, name := range startOrder(project) {
		service := project.Services[name]
		details := []string{}
		if service.Build != nil {
			details = append(details, "built here")
		}
		if after := dependencies(service); after != "" {
			details = append(details, "after "+after)
		}
		if ports := publishedPorts(service); ports != "" {
			details = append(details, "ports "+ports)
		}
		if hasHealthCheck(service) {
			details = append(details, "healthcheck")
		}
		fmt.Printf("  %-18s %-31s %s\n", name, service.Image, strings.Join(details, " · "))
	}
}

// startOrder lists services after their dependencies, alphabetically among those ready at the same
// step, so the output is stable. The loader has already rejected dependency cycles.
func startOrder(project *types.Project) []string {
	placed := map[string]bool{}
	var order []string
	for len(order) < len(project.Services) {
		var ready []string
		for _, name := range sortedServiceNames(project) {
			if !placed[name] && allPlaced(project.Services[name].DependsOn, placed) {
				ready = append(ready, name)
			}
		}
		if len(ready) == 0 {
			break
		}
		for _, name := range ready {
			placed[name] = true
		}
		order = append(order, ready...)
	}
	return order
}

func allPlaced(dependsOn types.DependsOnConfig, placed map[string]bool) bool {
	for name := range dependsOn {
		if !placed[name] {
			return false
		}
	}
	return true
}

func sortedServiceNames(project *types.Project) []string {
	names := project.ServiceNames()
	sort.Strings(names)
	return names
}

func dependencies(service types.ServiceConfig) string {
	names := make([]string, 0, len(service.DependsOn))
	for name, dependency := range service.DependsOn {
		condition := strings.TrimPrefix(dependency.Condition, "service_")
		names = append(names, fmt.Sprintf("%s (%s)", name, condition))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func publishedPorts(service types.ServiceConfig) string {
	ports := make([]string, 0, len(service.Ports))
	for _, port := range service.Ports {
		host := port.Published
		if port.HostIP != "" {
			host = port.HostIP + ":" + host
		}
		ports = append(ports, fmt.Sprintf("%s->%d", host, port.Target))
	}
	return strings.Join(ports, ", ")
}

// relativeTo names an absolute path relative to dir when it lies inside it.
func relativeTo(dir, path string) string {
	if relative, err := filepath.Rel(dir, path); err == nil && filepath.IsAbs(path) && !strings.HasPrefix(relative, "..") {
		return relative
	}
	return path
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}

// fileList is the repeatable -file flag.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }

func (f *fileList) Set(value string) error {
	*f = append(*f, value)
	return nil
}
