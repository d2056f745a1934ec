// The proof drives the real launcher and provisioners. @gp/launcher already devDepends on @gp/rbac (its own k8s
// tests apply these manifests), so a devDependency back would make a workspace cycle, which turbo refuses
// ("Cyclic dependency detected"). The proof therefore reads the launcher's sources by path; only these test
// files do, and they are type-checked by tsconfig.proof.json, not built or published.
export * from '../../../launcher/src/index.js';
