//! Mounts the WebCall app on the page's `<body>`.

fn main() {
    yew::Renderer::<webcall::App>::new().render();
}
