//! Plugin packages (seed ch. 1-4) and their signatures, read as a host reads them: what is
//! accepted, what is refused and why.

use std::io::{Cursor, Write};

use logi_plugin_manifest::Platform;
use logi_plugin_package::signature::{PublicKey, SecretKey, SignatureError, Trust, TrustStore};
use logi_plugin_package::{Limits, Package, PackageError};
use serde_json::json;
use sha2::Digest as _;
use zip::write::SimpleFileOptions;

fn manifest() -> String {
    json!({
        "plugin_id": "com.example.volume",
        "name": "Volume",
        "author": "Example Ltd",
        "description": "Turns the volume up and down",
        "icon": "icons/volume.png",
        "version": "1.2.30",
        "OS": [{ "platform": "mac", "minimumVersion": "10.11" }],
        "platformVersion": "0.1",
        "programPath": "bin/volume",
        "actions": [{ "id": "mute", "name": "Mute", "tooltip": "Mutes the sound" }],
        "requiredCapabilities": ["base"]
    })
    .to_string()
}

/// A valid package's files, as (path, contents).
fn files() -> Vec<(String, Vec<u8>)> {
    [
        ("manifest.json", manifest().into_bytes()),
        ("icons/volume.png", b"\x89PNG".to_vec()),
        ("bin/volume", b"#!/bin/sh\n".to_vec()),
        ("localization/de-DE.yaml", "Mute: Stumm\n".into()),
    ]
    .into_iter()
    .map(|(path, bytes)| (path.to_string(), bytes))
    .collect()
}

/// An archive of `entries`, written as a packer that trusts its input would.
fn archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer
            .start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn with_entry(name: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut entries = files();
    entries.push((name.to_string(), bytes.to_vec()));
    entries
}

fn read(archive: &[u8]) -> Result<Package, PackageError> {
    Package::from_zip(archive, Limits::default())
}

fn refused_entry(archive: &[u8]) -> (String, &'static str) {
    match read(archive) {
        Err(PackageError::Entry { name, reason }) => (name, reason),
        other => panic!("expected the entry to be refused, got {other:?}"),
    }
}

fn trusting(key: &SecretKey) -> TrustStore {
    let mut trust = TrustStore::default();
    trust.add(key.public_key(), "Example Ltd");
    trust
}

/// The valid package, signed by `publisher` with a fresh key.
fn signed(publisher: &str) -> (Package, SecretKey) {
    let key = SecretKey::generate().unwrap();
    let mut package = read(&archive(&files())).unwrap();
    package.sign(publisher, &key);
    (package, key)
}

/// A package of `entries` carrying `signed`'s signature file, as someone who changed the
/// files after signing would pack it.
fn with_signature_of(signed: &Package, mut entries: Vec<(String, Vec<u8>)>) -> Package {
    let signature = signed.signature_file().unwrap().to_vec();
    entries.push(("META-INF/signature.json".into(), signature));
    read(&archive(&entries)).unwrap()
}

#[test]
fn an_archive_is_read_with_its_manifest_files_and_localizations() {
    let package = read(&archive(&files())).unwrap();
    assert_eq!(package.manifest().plugin_id, "com.example.volume");
    assert_eq!(package.files().len(), 4);
    let german = package.localizations().for_locale("de-AT").unwrap();
    assert_eq!(german.translate("Mute"), "Stumm");
    assert!(package.signature_file().is_none());
}

#[test]
fn the_manifests_program_is_marked_executable() {
    let package = read(&archive(&files())).unwrap();
    assert!(package.files()["bin/volume"].executable);
    assert!(!package.files()["icons/volume.png"].executable);
}

#[test]
fn a_package_packs_to_the_same_bytes_every_time_and_reads_back_equal() {
    let package = read(&archive(&files())).unwrap();
    let packed = package.to_zip().unwrap();
    assert_eq!(packed, package.to_zip().unwrap());
    let again = read(&packed).unwrap();
    assert_eq!(again.files(), package.files());
    assert_eq!(again.manifest(), package.manifest());
}

#[test]
fn a_folder_reads_as_the_same_package_as_its_archive() {
    let dir = tempfile::tempdir().unwrap();
    read(&archive(&files()))
        .unwrap()
        .extract(dir.path())
        .unwrap();
    let from_dir = Package::from_dir(dir.path(), Limits::default()).unwrap();
    let from_zip = read(&archive(&files())).unwrap();
    assert_eq!(from_dir.files(), from_zip.files());
}

#[cfg(unix)]
#[test]
fn extraction_makes_the_program_executable_and_nothing_else() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    read(&archive(&files()))
        .unwrap()
        .extract(dir.path())
        .unwrap();
    let mode = |path: &str| {
        let meta = std::fs::metadata(dir.path().join(path)).unwrap();
        meta.permissions().mode() & 0o777
    };
    assert_eq!(mode("bin/volume"), 0o755);
    assert_eq!(mode("icons/volume.png"), 0o644);
}

#[test]
fn an_entry_climbing_out_with_dot_dot_is_refused() {
    let (name, reason) = refused_entry(&archive(&with_entry("icons/../../evil", b"x")));
    assert_eq!(name, "icons/../../evil");
    assert!(reason.contains("leaves the package"), "{reason}");
}

#[test]
fn an_absolute_entry_is_refused() {
    let (name, _) = refused_entry(&archive(&with_entry("/etc/evil", b"x")));
    assert_eq!(name, "/etc/evil");
}

#[test]
fn a_windows_drive_or_backslash_entry_is_refused() {
    assert_eq!(
        refused_entry(&archive(&with_entry("C:/evil", b"x"))).0,
        "C:/evil"
    );
    assert_eq!(
        refused_entry(&archive(&with_entry("..\\evil", b"x"))).0,
        "..\\evil"
    );
}

#[test]
fn a_link_entry_is_refused() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files() {
        writer
            .start_file(name, SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer
        .add_symlink("icons/passwd", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let archive = writer.finish().unwrap().into_inner();
    assert_eq!(
        refused_entry(&archive),
        ("icons/passwd".into(), "is a link")
    );
}

#[cfg(unix)]
#[test]
fn a_link_in_a_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    read(&archive(&files()))
        .unwrap()
        .extract(dir.path())
        .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("icons/passwd")).unwrap();
    match Package::from_dir(dir.path(), Limits::default()) {
        Err(PackageError::Entry { name, reason }) => {
            assert_eq!((name.as_str(), reason), ("icons/passwd", "is a link"));
        }
        other => panic!("expected the link to be refused, got {other:?}"),
    }
}

#[test]
fn names_that_differ_only_in_case_are_refused() {
    let (name, reason) = refused_entry(&archive(&with_entry("ICONS/volume.png", b"x")));
    assert_eq!(name, "ICONS/volume.png");
    assert!(reason.contains("collides"), "{reason}");
}

#[test]
fn a_name_twice_in_the_archive_is_refused_naming_it() {
    // zip's writer will not write a name twice: write a second name of the same length, then
    // rename it in the archive's bytes (its local header and its central directory entry).
    let mut packed = archive(&with_entry("icons/volume.pnX", b"the second copy"));
    let (from, to) = (b"icons/volume.pnX", b"icons/volume.png");
    let mut renamed = 0;
    for at in 0..packed.len() - from.len() {
        if packed[at..].starts_with(from) {
            packed[at..at + to.len()].copy_from_slice(to);
            renamed += 1;
        }
    }
    assert_eq!(renamed, 2);
    let (name, reason) = refused_entry(&packed);
    assert_eq!(name, "icons/volume.png");
    assert!(reason.contains("twice"), "{reason}");
}

#[test]
fn a_file_where_a_folder_is_needed_is_refused() {
    let (name, _) = refused_entry(&archive(&with_entry("bin/volume/extra", b"x")));
    assert_eq!(name, "bin/volume/extra");
}

#[test]
fn more_files_than_the_limit_are_refused() {
    let limits = Limits {
        max_files: 3,
        ..Limits::default()
    };
    let result = Package::from_zip(&archive(&files()), limits);
    assert!(matches!(
        result,
        Err(PackageError::TooManyFiles { limit: 3 })
    ));
}

#[test]
fn a_package_unpacking_past_the_size_limit_is_refused_however_well_it_compresses() {
    let bomb = vec![0u8; 4 * 1024 * 1024];
    let packed = archive(&with_entry("data/zeros", &bomb));
    assert!(packed.len() < 64 * 1024, "deflate squeezes zeros");
    let limits = Limits {
        max_total_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let result = Package::from_zip(&packed, limits);
    assert!(matches!(result, Err(PackageError::TooLarge { limit }) if limit == 1024 * 1024));
}

#[test]
fn bytes_that_are_not_an_archive_are_refused() {
    assert!(matches!(read(b"not a zip"), Err(PackageError::Archive(_))));
}

#[test]
fn a_package_without_a_manifest_is_refused() {
    let entries: Vec<_> = files().into_iter().skip(1).collect();
    assert!(matches!(
        read(&archive(&entries)),
        Err(PackageError::NoManifest)
    ));
}

#[test]
fn every_problem_of_manifest_files_and_localizations_is_reported_at_once() {
    let entries: Vec<_> = files()
        .into_iter()
        .filter(|(path, _)| path != "icons/volume.png")
        .chain([("localization/fr-FR.yaml".to_string(), b"[unclosed".to_vec())])
        .collect();
    let Err(PackageError::Invalid {
        manifest,
        localization,
    }) = read(&archive(&entries))
    else {
        panic!("expected an invalid package");
    };
    assert_eq!(manifest.len(), 1);
    assert_eq!(manifest[0].path, "icon");
    assert_eq!(localization.len(), 1);
    assert_eq!(localization[0].locale, "fr-FR");
    let message = PackageError::Invalid {
        manifest,
        localization,
    }
    .to_string();
    assert!(message.contains("manifest.json: icon: "), "{message}");
    assert!(message.contains("localization/fr-FR.yaml"), "{message}");
}

/// The valid package's files with its manifest changed by `edit`.
fn files_with_manifest(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<(String, Vec<u8>)> {
    let mut value: serde_json::Value = serde_json::from_str(&manifest()).unwrap();
    edit(&mut value);
    let mut entries = files();
    entries[0].1 = value.to_string().into_bytes();
    entries
}

#[test]
fn a_package_for_one_platform_reads_with_the_others_program_as_a_warning() {
    let entries = files_with_manifest(|m| m["programPathWin"] = json!("bin/volume.exe"));
    let package = read(&archive(&entries)).unwrap();
    let warnings: Vec<_> = package.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            r#"programPathWin: file "bin/volume.exe" is not in the package, so it does not run on Windows"#
        ]
    );
    assert!(package.check_platform(Platform::Mac).is_ok());
}

#[test]
fn a_package_checked_for_a_platform_whose_program_it_lacks_is_refused_naming_it() {
    let entries = files_with_manifest(|m| m["programPathWin"] = json!("bin/volume.exe"));
    let package = read(&archive(&entries)).unwrap();
    let refused = package.check_platform(Platform::Windows).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the package does not run on Windows:\n  manifest.json: programPathWin: file \
         \"bin/volume.exe\" is not in the package"
    );
}

#[test]
fn a_package_without_any_of_its_programs_is_refused() {
    let entries: Vec<_> = files()
        .into_iter()
        .filter(|(path, _)| path != "bin/volume")
        .collect();
    let Err(PackageError::Invalid { manifest, .. }) = read(&archive(&entries)) else {
        panic!("expected an invalid package");
    };
    assert_eq!(manifest.len(), 1);
    assert_eq!(manifest[0].path, "programPath");
}

/// The valid package's files but its program, in a folder; and a program built elsewhere.
fn folder_and_program() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files() {
        if path == "bin/volume" {
            continue;
        }
        let target = dir.path().join(&path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
    let build = tempfile::tempdir().unwrap();
    std::fs::write(build.path().join("volume"), b"built elsewhere").unwrap();
    (dir, build)
}

#[test]
fn a_folder_read_with_a_program_holds_it_at_the_manifests_program_path_executable() {
    let (dir, build) = folder_and_program();
    let program = build.path().join("volume");
    let package = Package::from_dir_with_program(dir.path(), &program, Limits::default()).unwrap();
    let file = &package.files()["bin/volume"];
    assert_eq!(file.bytes, b"built elsewhere");
    assert!(file.executable);
    assert!(
        !dir.path().join("bin").exists(),
        "the folder was written to"
    );
}

#[test]
fn a_program_given_replaces_the_file_the_folder_holds_at_its_path() {
    let (dir, build) = folder_and_program();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    std::fs::write(dir.path().join("bin/volume"), b"an old build").unwrap();
    let program = build.path().join("volume");
    let package = Package::from_dir_with_program(dir.path(), &program, Limits::default()).unwrap();
    assert_eq!(package.files()["bin/volume"].bytes, b"built elsewhere");
}

#[test]
fn a_program_given_for_a_manifest_naming_none_here_is_refused() {
    let (dir, build) = folder_and_program();
    let mut value: serde_json::Value = serde_json::from_str(&manifest()).unwrap();
    let object = value.as_object_mut().unwrap();
    object.remove("programPath");
    let only_elsewhere = if cfg!(windows) {
        "programPathMac"
    } else {
        "programPathWin"
    };
    object.insert(only_elsewhere.into(), json!("bin/volume"));
    std::fs::write(dir.path().join("manifest.json"), value.to_string()).unwrap();
    let program = build.path().join("volume");
    let refused = Package::from_dir_with_program(dir.path(), &program, Limits::default());
    assert!(
        matches!(refused, Err(PackageError::NoProgramPath { platform }) if platform == Platform::current()),
        "{refused:?}"
    );
}

#[test]
fn a_program_that_is_not_there_is_refused_naming_its_path() {
    let (dir, build) = folder_and_program();
    let program = build.path().join("nothing-built");
    let refused =
        Package::from_dir_with_program(dir.path(), &program, Limits::default()).unwrap_err();
    assert_eq!(refused.path(), Some(program.as_path()), "{refused}");
}

#[test]
fn a_package_signed_by_a_trusted_key_is_accepted_with_its_publisher() {
    let (package, key) = signed("Example Ltd");
    let package = read(&package.to_zip().unwrap()).unwrap();
    assert_eq!(
        package.verify(&trusting(&key), false),
        Ok(Trust::Publisher {
            name: "Example Ltd".into(),
            key: key.public_key()
        })
    );
}

#[test]
fn a_file_changed_after_signing_breaks_the_signature() {
    let (package, key) = signed("Example Ltd");
    let mut entries = files();
    entries[2].1 = b"#!/bin/sh\nrm -rf ~\n".to_vec();
    let tampered = with_signature_of(&package, entries);
    assert!(matches!(
        tampered.verify(&trusting(&key), false),
        Err(SignatureError::Mismatch { .. })
    ));
}

#[test]
fn a_file_added_after_signing_breaks_the_signature() {
    let (package, key) = signed("Example Ltd");
    let tampered = with_signature_of(&package, with_entry("bin/extra", b"x"));
    assert!(matches!(
        tampered.verify(&trusting(&key), false),
        Err(SignatureError::Mismatch { .. })
    ));
}

#[test]
fn a_key_missing_from_the_trust_store_is_refused_naming_it() {
    let (package, key) = signed("Somebody");
    let other = SecretKey::generate().unwrap();
    let error = package.verify(&trusting(&other), false).unwrap_err();
    assert_eq!(
        error,
        SignatureError::Untrusted {
            publisher: "Somebody".into(),
            key: key.public_key()
        }
    );
    assert!(error.to_string().contains(&key.public_key().to_string()));
}

#[test]
fn an_unsigned_package_is_refused_outside_development_mode() {
    let package = read(&archive(&files())).unwrap();
    assert_eq!(
        package.verify(&TrustStore::default(), false),
        Err(SignatureError::Unsigned)
    );
}

#[test]
fn development_mode_accepts_an_unsigned_package_saying_why_it_would_not_be() {
    let package = read(&archive(&files())).unwrap();
    assert_eq!(
        package.verify(&TrustStore::default(), true),
        Ok(Trust::Development(SignatureError::Unsigned))
    );
}

#[test]
fn a_malformed_signature_file_is_refused_saying_what_is_wrong() {
    let entries = with_entry("META-INF/signature.json", br#"{"format": "other/9"}"#);
    let error = read(&archive(&entries))
        .unwrap()
        .verify(&TrustStore::default(), false)
        .unwrap_err();
    let SignatureError::Malformed(reason) = error else {
        panic!("expected a malformed signature, got {error:?}");
    };
    assert!(reason.contains("\"other/9\""), "{reason}");
}

/// `signed` installed in a folder, its signature kept there; `tamper` then changes the folder.
fn installed(signed: &Package, tamper: impl FnOnce(&std::path::Path)) -> Package {
    let dir = tempfile::tempdir().unwrap();
    signed.extract(dir.path()).unwrap();
    signed.keep_signature(dir.path()).unwrap();
    tamper(dir.path());
    Package::from_dir(dir.path(), Limits::default()).unwrap()
}

#[test]
fn an_installed_folder_checks_against_its_kept_signature_and_may_gain_files() {
    let (package, key) = signed("Example Ltd");
    let folder = installed(&package, |dir| {
        std::fs::write(dir.join("cache.db"), b"made by the plugin").unwrap();
    });
    assert!(matches!(
        folder.verify_installed(&trusting(&key), false),
        Ok(Trust::Publisher { name, .. }) if name == "Example Ltd"
    ));
}

#[test]
fn an_installed_file_removed_is_reported_by_path() {
    let (package, key) = signed("Example Ltd");
    let folder = installed(&package, |dir| {
        std::fs::remove_file(dir.join("localization/de-DE.yaml")).unwrap();
    });
    assert_eq!(
        folder.verify_installed(&trusting(&key), false),
        Err(SignatureError::Changed {
            path: "localization/de-DE.yaml".into()
        })
    );
}

#[test]
fn an_edited_kept_listing_no_longer_matches_its_signature() {
    let (package, key) = signed("Example Ltd");
    let folder = installed(&package, |dir| {
        std::fs::write(dir.join("bin/volume"), b"#!/bin/sh\nevil\n").unwrap();
        let listing = dir.join("META-INF/listing.txt");
        let text = std::fs::read_to_string(&listing).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(b"#!/bin/sh\nevil\n"));
        let edited: Vec<String> = text
            .lines()
            .map(|line| match line.strip_suffix("  bin/volume") {
                Some(_) => format!("{digest}  bin/volume"),
                None => line.to_string(),
            })
            .collect();
        std::fs::write(&listing, edited.join("\n") + "\n").unwrap();
    });
    assert!(matches!(
        folder.verify_installed(&trusting(&key), false),
        Err(SignatureError::Mismatch { .. })
    ));
}

#[test]
fn keys_and_trust_stores_read_back_what_they_write() {
    let key = SecretKey::generate().unwrap();
    let again = SecretKey::parse(&key.to_text()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    let trust = trusting(&key);
    let text = format!("# publishers\n\n{}", trust.to_text());
    assert_eq!(TrustStore::parse(&text).unwrap(), trust);
    let public: PublicKey = key.public_key().to_string().parse().unwrap();
    assert_eq!(public, key.public_key());
}

#[test]
fn a_bad_trust_store_line_is_reported_with_its_number() {
    let error = TrustStore::parse("# keys\nnot-hex Somebody\n").unwrap_err();
    assert!(
        error.starts_with("line 2: public key \"not-hex\""),
        "{error}"
    );
}
