//! The macros that declare the ABI: each one writes a module of `pub const`s for
//! Rust code and, from the same tokens, the list the TypeScript renderer reads
//! (`ALL`, and `DOC` for the module's own documentation). Nothing is written twice.

/// `constants! { /// doc \n pub mod name: type { /// doc \n NAME [: type] = value, … } }`:
/// a module of typed constants, plus `ALL: &[(name, value, doc)]` and `DOC`.
macro_rules! constants {
    (@type $own:ty, $default:ty) => { $own };
    (@type , $default:ty) => { $default };
    (
        $(#[doc = $mdoc:literal])*
        pub mod $module:ident: $ty:ty {
            $( $(#[doc = $doc:literal])* $name:ident $(: $own:ty)? = $value:expr, )*
        }
    ) => {
        $(#[doc = $mdoc])*
        pub mod $module {
            $( $(#[doc = $doc])* pub const $name: constants!(@type $($own)?, $ty) = $value; )*
            /// Every constant of this module as `(name, value, doc)`, in order (for the TypeScript renderer).
            pub const ALL: &[(&str, u64, &str)] = &[ $( (stringify!($name), $name as u64, concat!($($doc, "\n"),*)) ),* ];
            /// This module's documentation (for the TypeScript renderer).
            pub const DOC: &str = concat!($($mdoc, "\n"),*);
        }
    };
}

/// `names! { /// doc \n pub mod ids; /// doc \n pub const TABLE { NAME = id "text", … } extra items }`:
/// a module of `u32` ids (with `ALL` and `DOC` as in `constants!`, and the extra items),
/// and `TABLE: &[(id, text)]` beside it.
macro_rules! names {
    (
        $(#[doc = $mdoc:literal])*
        pub mod $module:ident;
        $(#[doc = $tdoc:literal])*
        pub const $table:ident {
            $( $(#[doc = $doc:literal])* $name:ident = $value:literal $text:literal, )*
        }
        $($extra:item)*
    ) => {
        $(#[doc = $mdoc])*
        pub mod $module {
            $( $(#[doc = $doc])* #[doc = concat!("`", $text, "`")] pub const $name: u32 = $value; )*
            /// Every id of this module as `(name, value, doc)`, in order (for the TypeScript renderer).
            pub const ALL: &[(&str, u64, &str)] = &[ $( (stringify!($name), $name as u64, concat!($($doc, "\n"),*)) ),* ];
            /// This module's documentation (for the TypeScript renderer).
            pub const DOC: &str = concat!($($mdoc, "\n"),*);
            $($extra)*
        }
        $(#[doc = $tdoc])*
        pub const $table: &[(u32, &str)] = &[ $( ($module::$name, $text) ),* ];
    };
}

/// `errors! { /// doc \n pub mod codes; /// doc \n pub const TABLE { NAME = code, status, "meaning"; … } }`:
/// a module of `u32` error codes (with `ALL` and `DOC`), and `TABLE: &[(code, NAME, status, meaning)]`.
macro_rules! errors {
    (
        $(#[doc = $mdoc:literal])*
        pub mod $module:ident;
        $(#[doc = $tdoc:literal])*
        pub const $table:ident {
            $( $name:ident = $code:literal, $status:literal, $meaning:literal; )*
        }
    ) => {
        $(#[doc = $mdoc])*
        pub mod $module {
            $( #[doc = concat!($meaning, " (answered with ", $status, ").")] pub const $name: u32 = $code; )*
            /// Every code of this module as `(name, value, doc)`, in order (for the TypeScript renderer).
            pub const ALL: &[(&str, u64, &str)] = &[ $( (stringify!($name), $name as u64, $meaning) ),* ];
            /// This module's documentation (for the TypeScript renderer).
            pub const DOC: &str = concat!($($mdoc, "\n"),*);
        }
        $(#[doc = $tdoc])*
        pub const $table: &[(u32, &str, u16, &str)] = &[ $( ($module::$name, stringify!($name), $status, $meaning) ),* ];
    };
}
